//! Checkpoints (C2SP tlog-checkpoint) signed as C2SP signed notes with the log's Ed25519 key.
//!
//! Keys are in the signed-note text forms: `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` and
//! `<name>+<id>+<base64(0x01 || public key)>`. The key name is the log's origin.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use signed_note::{Note, NoteError, StandardVerifier, VerifierList};
use zeroize::Zeroizing;

use crate::{Error, HASH_SIZE, Hash, TreeSize};

/// Signature type byte of Ed25519 signed-note keys.
const ALG_ED25519: u8 = 0x01;

/// A tree head: the note text of a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The log's origin line (also its key name).
    pub origin: String,
    /// Number of entries in the tree.
    pub size: TreeSize,
    /// RFC 6962 root hash of the tree.
    pub root: Hash,
    /// Extension lines (opaque, non-empty, NOT RECOMMENDED by the spec).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending in `\n`.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            B64.encode(self.root.0)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses checkpoint note text (without signatures), strictly: at least three lines, each
    /// ending in `\n`; a non-empty origin; a decimal size with no leading zeros; a canonical
    /// base64 32-byte root; non-empty extension lines; no control characters.
    pub fn parse(text: &str) -> Result<Checkpoint, Error> {
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Error::BadCheckpoint("control character"));
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(Error::BadCheckpoint("does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(Error::BadCheckpoint("empty origin"));
        }
        let size = lines.next().ok_or(Error::BadCheckpoint("no size line"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(Error::BadCheckpoint("bad size"));
        }
        let size: u64 = size.parse().map_err(|_| Error::BadCheckpoint("bad size"))?;
        let root = parse_hash(lines.next().ok_or(Error::BadCheckpoint("no root line"))?)
            .ok_or(Error::BadCheckpoint("bad root hash"))?;
        let mut extensions = Vec::new();
        for l in lines {
            if l.is_empty() {
                return Err(Error::BadCheckpoint("empty extension line"));
            }
            extensions.push(l.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size: TreeSize(size),
            root,
            extensions,
        })
    }
}

/// A canonical standard-base64 32-byte hash.
pub(crate) fn parse_hash(s: &str) -> Option<Hash> {
    let bytes = B64.decode(s).ok()?;
    let h: [u8; HASH_SIZE] = bytes.try_into().ok()?;
    // Reject non-canonical encodings (non-zero padding bits).
    (B64.encode(h) == s).then_some(Hash(h))
}

/// The log's checkpoint signer. The Ed25519 secret is zeroized on drop.
pub struct LogSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl signed_note::Signer for LogSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

fn key_id(name: &str, key: &SigningKey) -> u32 {
    let mut pubkey = vec![ALG_ED25519];
    pubkey.extend_from_slice(key.verifying_key().as_bytes());
    signed_note::key_id(name, &pubkey)
}

impl LogSigner {
    /// Generates a fresh key for the log `origin`; returns the signer and its skey and vkey texts.
    /// Fails if `origin` is not a valid key name (empty, or with spaces or `+`).
    pub fn generate(origin: &str) -> Result<(LogSigner, String, String), Error> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(Error::BadKey("origin is not a valid key name"));
        }
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let signer = LogSigner {
            name: origin.to_string(),
            id: key_id(origin, &key),
            key,
        };
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(signer.key.as_bytes());
        let skey = format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            signer.name,
            signer.id,
            B64.encode(&*raw)
        );
        let vkey = signer.vkey();
        Ok((signer, skey, vkey))
    }

    /// Parses a signed-note Ed25519 signer key (`PRIVATE+KEY+<name>+<id>+<base64>`), checking
    /// that the key ID matches the key.
    pub fn from_skey(skey: &str) -> Result<Self, Error> {
        let skey = skey.trim_end_matches('\n');
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(Error::BadKey("not PRIVATE+KEY+..."))?;
        // The base64 key may itself contain '+'; the name and the id cannot.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id16), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::BadKey("expected name+id+key"));
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(Error::BadKey("invalid key name"));
        }
        if id16.len() != 8 || !id16.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::BadKey("bad key id"));
        }
        let id = u32::from_str_radix(id16, 16).map_err(|_| Error::BadKey("bad key id"))?;
        let raw = Zeroizing::new(B64.decode(b64).map_err(|_| Error::BadKey("bad base64"))?);
        let Some((&ALG_ED25519, seed)) = raw.split_first() else {
            return Err(Error::BadKey("not an Ed25519 key"));
        };
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.try_into()
                .map_err(|_| Error::BadKey("Ed25519 key is not 32 bytes"))?,
        );
        let key = SigningKey::from_bytes(&seed);
        if key_id(name, &key) != id {
            return Err(Error::BadKey("key id does not match the key"));
        }
        Ok(LogSigner {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// The key name, which is the log's origin.
    pub fn origin(&self) -> &str {
        &self.name
    }

    /// The verifier key text.
    pub fn vkey(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key.verifying_key())
    }

    /// Signs the checkpoint; returns the full signed note. Fails if the checkpoint's origin is not
    /// the key name, or its body would not parse back to the same checkpoint (newlines or control
    /// characters in the origin or extensions, empty extensions).
    pub fn sign(&self, cp: &Checkpoint) -> Result<Vec<u8>, Error> {
        if cp.origin != self.name {
            return Err(Error::OriginMismatch {
                expected: self.name.clone(),
                found: cp.origin.clone(),
            });
        }
        let body = cp.body();
        if Checkpoint::parse(&body).ok().as_ref() != Some(cp) {
            return Err(Error::BadCheckpoint("does not round-trip through its body"));
        }
        let mut note = Note::new(body.as_bytes(), &[]).map_err(|_| Error::BadNote)?;
        note.add_sigs(&[self]).map_err(|_| Error::BadNote)?;
        Ok(note.to_bytes())
    }
}

/// Verifies checkpoints signed by one log key.
#[derive(Clone)]
pub struct LogVerifier {
    origin: String,
    verifier: StandardVerifier,
}

impl std::fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogVerifier")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl LogVerifier {
    /// Parses a signed-note Ed25519 verifier key (`<name>+<id>+<base64>`); the name is the origin.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let vkey = vkey.trim_end_matches('\n');
        let verifier = StandardVerifier::new(vkey).map_err(|e| match e {
            signed_note::VerifierError::Alg => Error::BadKey("not an Ed25519 key"),
            signed_note::VerifierError::Id => Error::BadKey("key id does not match the key"),
            signed_note::VerifierError::Format => Error::BadKey("malformed verifier key"),
        })?;
        let origin = signed_note::Verifier::name(&verifier).to_string();
        Ok(LogVerifier { origin, verifier })
    }

    /// The log's origin (the key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Parses a signed note and checks the log key's signature; returns the note text. Signature
    /// lines by other keys (e.g. witness cosignatures) are allowed and ignored.
    pub fn verify_note(&self, note: &[u8]) -> Result<String, Error> {
        let note = Note::from_bytes(note).map_err(|_| Error::BadNote)?;
        let known = VerifierList::new(vec![Box::new(self.verifier.clone())]);
        note.verify(&known).map_err(|e| match e {
            NoteError::UnverifiedNote => Error::BadSignature("no signature by the log key".into()),
            NoteError::InvalidSignature { .. } => {
                Error::BadSignature("the log key's signature does not verify".into())
            }
            other => Error::BadSignature(other.to_string()),
        })?;
        String::from_utf8(note.text().to_vec()).map_err(|_| Error::BadNote)
    }

    /// Parses a signed note, checks the log's signature (other signature lines, e.g. witness
    /// cosignatures, are kept in the note, not required), parses the checkpoint, and checks that
    /// its origin is the log's.
    pub fn verify(&self, note: &[u8]) -> Result<Checkpoint, Error> {
        let text = self.verify_note(note)?;
        let cp = Checkpoint::parse(&text)?;
        if cp.origin != self.origin {
            return Err(Error::OriginMismatch {
                expected: self.origin.clone(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::leaf_hash;

    fn cp(origin: &str) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size: TreeSize(20_852_163),
            root: leaf_hash(b"x"),
            extensions: vec![],
        }
    }

    #[test]
    fn spec_checkpoint_body_parses() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, TreeSize(20_852_163));
        assert_eq!(c.body(), text);
    }

    #[test]
    fn bad_checkpoint_bodies() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for t in [
            String::new(),
            "o\n1\n".into(),
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n".into(),
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".into(),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
            format!("o\t\n1\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&t).is_err(), "accepted {t:?}");
        }
        let ok = Checkpoint::parse(&format!("o\n0\n{root}\next one\n")).unwrap();
        assert_eq!(ok.extensions, vec!["ext one".to_string()]);
    }

    #[test]
    fn signed_checkpoint_round_trip() {
        let (signer, skey, vkey) = LogSigner::generate("example.com/log").unwrap();
        let again = LogSigner::from_skey(&skey).unwrap();
        assert_eq!(again.vkey(), vkey);
        assert_eq!(signer.vkey(), vkey);
        let verifier = LogVerifier::from_vkey(&vkey).unwrap();
        assert_eq!(verifier.origin(), "example.com/log");
        let mut c = cp("example.com/log");
        c.extensions = vec!["an extension".into()];
        let note = again.sign(&c).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(text.starts_with(&c.body()));
        assert!(text.contains("\n\n— example.com/log "));
        assert_eq!(verifier.verify(&note).unwrap(), c);
        assert!(!format!("{signer:?}").contains(&skey[20..]));
    }

    #[test]
    fn extra_signature_lines_still_verify() {
        let (signer, _, vkey) = LogSigner::generate("example.com/log").unwrap();
        let (witness, _, _) = LogSigner::generate("witness.example").unwrap();
        let c = cp("example.com/log");
        let note = signer.sign(&c).unwrap();
        // A witness-like signature line after the log's, with a key the verifier doesn't know.
        let mut parsed = Note::from_bytes(&note).unwrap();
        parsed.add_sigs(&[&witness]).unwrap();
        let cosigned = parsed.to_bytes();
        assert!(String::from_utf8_lossy(&cosigned).contains("— witness.example "));
        let verifier = LogVerifier::from_vkey(&vkey).unwrap();
        assert_eq!(verifier.verify(&cosigned).unwrap(), c);
        // And a made-up cosignature line (unknown key, arbitrary bytes) before the log's.
        let body = c.body();
        let sigs = &note[body.len() + 1..];
        let mut forged = body.into_bytes();
        forged.extend_from_slice(b"\n\xe2\x80\x94 witness2.example AAAAAAAAAAAAAAA=\n");
        forged.extend_from_slice(sigs);
        assert_eq!(verifier.verify(&forged).unwrap(), c);
        // Only the witness's signature: rejected.
        let mut only_witness = Note::new(c.body().as_bytes(), &[]).unwrap();
        only_witness.add_sigs(&[&witness]).unwrap();
        assert!(matches!(
            verifier.verify(&only_witness.to_bytes()),
            Err(Error::BadSignature(_))
        ));
    }

    #[test]
    fn wrong_key_and_tampering_rejected() {
        let (signer, _, vkey) = LogSigner::generate("example.com/log").unwrap();
        let (_, _, other_vkey) = LogSigner::generate("example.com/log").unwrap();
        let c = cp("example.com/log");
        let note = signer.sign(&c).unwrap();
        let other = LogVerifier::from_vkey(&other_vkey).unwrap();
        assert!(matches!(other.verify(&note), Err(Error::BadSignature(_))));
        let verifier = LogVerifier::from_vkey(&vkey).unwrap();
        let text = String::from_utf8(note).unwrap();
        let tampered = text.replacen("20852163", "20852164", 1);
        assert!(matches!(
            verifier.verify(tampered.as_bytes()),
            Err(Error::BadSignature(_))
        ));
        // A signature with a flipped bit, by the right key name and id.
        let mut bytes = text.into_bytes();
        let n = bytes.len();
        bytes[n - 5] = if bytes[n - 5] == b'A' { b'B' } else { b'A' };
        assert!(verifier.verify(&bytes).is_err());
        // Signing a checkpoint of another origin, or one whose body does not round-trip.
        assert!(matches!(
            signer.sign(&cp("example.com/other")),
            Err(Error::OriginMismatch { .. })
        ));
        let mut bad = cp("example.com/log");
        bad.extensions = vec![String::new()];
        assert!(signer.sign(&bad).is_err());
        bad.extensions = vec!["a\nb".into()];
        assert!(signer.sign(&bad).is_err());
    }

    #[test]
    fn origin_must_match_key_name() {
        // A note signed by a key named like the log, but for another origin line.
        let (signer, _, vkey) = LogSigner::generate("example.com/log").unwrap();
        let c = cp("example.com/elsewhere");
        let mut note = Note::new(c.body().as_bytes(), &[]).unwrap();
        note.add_sigs(&[&signer]).unwrap();
        let verifier = LogVerifier::from_vkey(&vkey).unwrap();
        assert!(matches!(
            verifier.verify(&note.to_bytes()),
            Err(Error::OriginMismatch { .. })
        ));
    }

    #[test]
    fn spec_signed_note_example() {
        let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        let v = LogVerifier::from_vkey(vkey).unwrap();
        assert_eq!(v.origin(), "example.com/foo");
        assert_eq!(
            v.verify_note(note.as_bytes()).unwrap(),
            "This is an example message.\n"
        );
        // Not a checkpoint, so `verify` refuses it after the signature checks out.
        assert!(matches!(
            v.verify(note.as_bytes()),
            Err(Error::BadCheckpoint(_))
        ));
        let tampered = note.replace("example message", "example massage");
        assert!(v.verify_note(tampered.as_bytes()).is_err());
    }

    #[test]
    fn many_keys_round_trip() {
        // Base64 keys often contain '+', the separator of the key text fields.
        for _ in 0..200 {
            let (signer, skey, vkey) = LogSigner::generate("example.com/log").unwrap();
            assert_eq!(LogSigner::from_skey(&skey).unwrap().vkey(), vkey);
            assert_eq!(signer.origin(), "example.com/log");
            LogVerifier::from_vkey(&vkey).unwrap();
        }
    }

    #[test]
    fn bad_keys_rejected() {
        let (_, skey, vkey) = LogSigner::generate("example.com/log").unwrap();
        for k in [
            "",
            "example.com/log",
            &vkey.replacen("+", "+0", 1),
            &vkey.replacen("example.com/log", "example.com/lag", 1),
            "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(LogVerifier::from_vkey(k).is_err(), "accepted {k:?}");
        }
        for k in [
            "",
            &vkey,
            &skey.replacen("PRIVATE", "PUBLIC", 1),
            &skey.replacen("example.com/log", "example.com/lag", 1),
            &skey[..skey.len() - 4],
        ] {
            assert!(LogSigner::from_skey(k).is_err(), "accepted {k:?}");
        }
        assert!(LogSigner::generate("has space").is_err());
        assert!(LogSigner::generate("a+b").is_err());
        assert!(LogSigner::generate("").is_err());
    }
}
