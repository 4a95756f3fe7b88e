//! C2SP `tlog-proof@v1`: an offline proof that an entry is in a log, with its checkpoint.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <decimal>
//! <base64 hash>             (zero or more, leaf's sibling first)
//!
//! <signed checkpoint, verbatim>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::checkpoint::parse_hash;
use crate::{Checkpoint, Error, Hash, LeafIndex, LogVerifier, verify_inclusion};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Longest inclusion proof for a tree of at most 2^64 - 1 leaves.
const MAX_PROOF_HASHES: usize = 63;

/// A `c2sp.org/tlog-proof@v1` proof.
#[derive(Clone, Debug, PartialEq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry in the log.
    pub index: LeafIndex,
    /// RFC 6962 inclusion proof, leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim (with any witness cosignatures).
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// The proof as bytes (the checkpoint is included verbatim).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index.0));
        for h in &self.proof {
            s.push_str(&format!("{h}\n"));
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// The proof as text. A checkpoint that is not UTF-8 (which no valid note is) is replaced
    /// lossily; use [`TlogProof::to_bytes`] to keep it exact.
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }

    /// Parses a proof, strictly: the exact header, an optional `extra` line with canonical base64,
    /// an `index` with no leading zeros, at most 63 canonical base64 hashes, an empty line, and a
    /// well-formed signed note whose text is a well-formed checkpoint (its signatures are checked
    /// by [`TlogProof::verify`]).
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        let bad = Error::BadProofText;
        let mut rest = text;
        let mut line = || -> Result<&str, Error> {
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(bad("truncated"))?;
            let l = std::str::from_utf8(&rest[..nl]).map_err(|_| bad("not UTF-8"))?;
            rest = &rest[nl + 1..];
            Ok(l)
        };
        if line()? != HEADER {
            return Err(bad("missing c2sp.org/tlog-proof@v1 header"));
        }
        let mut l = line()?;
        let mut extra = None;
        if let Some(b64) = l.strip_prefix("extra ") {
            let bytes = B64.decode(b64).map_err(|_| bad("bad extra base64"))?;
            if B64.encode(&bytes) != b64 {
                return Err(bad("non-canonical extra base64"));
            }
            extra = Some(bytes);
            l = line()?;
        }
        let index = l.strip_prefix("index ").ok_or(bad("missing index line"))?;
        if index.is_empty()
            || !index.bytes().all(|b| b.is_ascii_digit())
            || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(bad("bad index"));
        }
        let index: u64 = index.parse().map_err(|_| bad("bad index"))?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad("too many proof hashes"));
            }
            proof.push(parse_hash(l).ok_or(bad("bad proof hash"))?);
        }
        let checkpoint = rest.to_vec();
        let note =
            signed_note::Note::from_bytes(&checkpoint).map_err(|_| bad("bad signed note"))?;
        let body = std::str::from_utf8(note.text()).map_err(|_| bad("bad signed note"))?;
        Checkpoint::parse(body)?;
        Ok(TlogProof {
            extra,
            index: LeafIndex(index),
            proof,
            checkpoint,
        })
    }

    /// Verifies the checkpoint with the log key, and the inclusion of `leaf` (the leaf hash) at
    /// `index` in it; returns the checkpoint. Witness cosignatures are left to the caller's policy.
    pub fn verify(&self, leaf: Hash, log: &LogVerifier) -> Result<Checkpoint, Error> {
        let cp = log.verify(&self.checkpoint)?;
        verify_inclusion(leaf, self.index, cp.size, cp.root, &self.proof)?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Appender, LogSigner, TileId, TileReader, TreeSize, inclusion_proof, leaf_hash};
    use std::collections::HashMap;

    /// The spec's example, with placeholder signatures made well-formed base64.
    const SPEC: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJwAAAAAAAAAA
— witness1.example mJirIkljAAAAAAAAqY9v2B/5bg==
— witness2.example TnKKVHLXAAAAAAAAxwYwrSjgow==
— witness3.example S4X82uH5AAAAAAAA3oEcROGLFQ==
";

    #[test]
    fn spec_example_round_trip() {
        let p = TlogProof::parse(SPEC.as_bytes()).unwrap();
        assert_eq!(
            p.extra.as_deref(),
            Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
        );
        assert_eq!(p.index, LeafIndex(73894));
        assert_eq!(p.proof.len(), 5);
        assert_eq!(
            p.proof[0].to_string(),
            "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
        );
        assert!(p.checkpoint.starts_with(b"example.com/fancylog\n109482\n"));
        assert_eq!(p.to_text(), SPEC);
        let mut no_extra = p.clone();
        no_extra.extra = None;
        no_extra.proof.clear();
        let text = no_extra.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 73894\n\nexample.com/fancylog\n"));
        assert_eq!(TlogProof::parse(text.as_bytes()).unwrap(), no_extra);
    }

    #[test]
    fn malformed_rejected() {
        let cases = [
            SPEC.replace("tlog-proof@v1", "tlog-proof@v2"),
            SPEC.replace("index 73894", "index 073894"),
            SPEC.replace("index 73894", "index +73894"),
            SPEC.replace("index 73894", "index  73894"),
            SPEC.replace("index 73894", "index"),
            SPEC.replace("index 73894\n", ""),
            SPEC.replace("extra YWdl", "extra !Wdl"),
            SPEC.replace("extra ", "extra  "),
            SPEC.replace("gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=", "gSKyXoYZ"),
            SPEC.replace(
                "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
                "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlR=",
            ),
            SPEC.replace("5vk=\n", "5vk=\n\n"),
            SPEC.replace("\n\nexample.com/fancylog", "\nexample.com/fancylog"),
            SPEC.replace("109482", "0109482"),
            SPEC.replace("\n\n— example.com/fancylog", "\n— example.com/fancylog"),
            SPEC.replace("i08=\n", "i08\n"),
            SPEC.split_once("\n\n").unwrap().0.to_string(),
            String::new(),
        ];
        for c in &cases {
            assert!(TlogProof::parse(c.as_bytes()).is_err(), "accepted {c:?}");
        }
        let long = SPEC.replacen(
            "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n",
            &"gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n".repeat(64),
            1,
        );
        assert!(TlogProof::parse(long.as_bytes()).is_err());
    }

    #[derive(Default)]
    struct Mem(HashMap<TileId, Vec<u8>>);
    impl TileReader for Mem {
        fn read_tile(&self, id: TileId) -> Result<Vec<u8>, Error> {
            self.0.get(&id).cloned().ok_or(Error::TileNotFound(id))
        }
    }

    #[test]
    fn real_proof_verifies_and_bad_proof_fails() {
        let (signer, _, vkey) = LogSigner::generate("example.com/log").unwrap();
        let log = LogVerifier::from_vkey(&vkey).unwrap();
        let entries: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let mut app = Appender::empty();
        let out = app.append(&entries).unwrap();
        let mut mem = Mem::default();
        mem.0.extend(out.tiles.iter().cloned());
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: out.size,
            root: out.root,
            extensions: vec![],
        };
        let note = signer.sign(&cp).unwrap();
        let index = LeafIndex(777);
        let leaf = leaf_hash(&entries[777]);
        let p = TlogProof {
            extra: Some(b"context".to_vec()),
            index,
            proof: inclusion_proof(&mem, TreeSize(1000), out.root, index).unwrap(),
            checkpoint: note,
        };
        let parsed = TlogProof::parse(&p.to_bytes()).unwrap();
        assert_eq!(parsed, p);
        assert_eq!(parsed.verify(leaf, &log).unwrap(), cp);
        // Wrong leaf, wrong index, tampered proof hash, truncated proof.
        assert!(matches!(
            parsed.verify(leaf_hash(b"other"), &log),
            Err(Error::InvalidProof)
        ));
        let mut wrong_index = parsed.clone();
        wrong_index.index = LeafIndex(776);
        assert!(wrong_index.verify(leaf, &log).is_err());
        let mut bad = parsed.clone();
        bad.proof[3].0[7] ^= 4;
        assert!(matches!(bad.verify(leaf, &log), Err(Error::InvalidProof)));
        let mut short = parsed.clone();
        short.proof.pop();
        assert!(short.verify(leaf, &log).is_err());
        // Another log's key.
        let (_, _, other) = LogSigner::generate("example.com/log").unwrap();
        let other = LogVerifier::from_vkey(&other).unwrap();
        assert!(matches!(
            parsed.verify(leaf, &other),
            Err(Error::BadSignature(_))
        ));
    }
}
