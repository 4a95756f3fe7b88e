//! The add-checkpoint request body: `old <size>\n`, up to 63 base64 proof lines, an empty line,
//! then the signed checkpoint note.

use base64::prelude::*;
use tlog_tiles::Hash;

use crate::AddError;

/// Most consistency proof lines a client may send (c2sp.org/tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed add-checkpoint body. The note is not yet parsed or verified.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpointRequest<'a> {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub note: &'a [u8],
}

fn bad(msg: &str) -> AddError {
    AddError::BadRequest(msg.to_owned())
}

fn next_line(buf: &[u8]) -> Result<(&[u8], &[u8]), AddError> {
    let i = buf
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("line not terminated by a newline"))?;
    Ok((&buf[..i], &buf[i + 1..]))
}

/// Decimal with no leading zeroes (`0` itself allowed), fitting in u64.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

impl<'a> AddCheckpointRequest<'a> {
    /// Parses a request body. Errors are all 400 Bad Request.
    pub fn parse(body: &'a [u8]) -> Result<Self, AddError> {
        let (line, mut rest) = next_line(body)?;
        let old = line
            .strip_prefix(b"old ")
            .ok_or_else(|| bad("first line must be \"old <size>\""))?;
        let old_size = parse_decimal(old).ok_or_else(|| bad("malformed old size"))?;
        let mut proof = Vec::new();
        loop {
            let (line, r) = next_line(rest)?;
            rest = r;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let bytes = BASE64_STANDARD
                .decode(line)
                .map_err(|_| bad("consistency proof line is not base64"))?;
            let hash: [u8; 32] = bytes
                .try_into()
                .map_err(|_| bad("consistency proof line is not a 32-byte hash"))?;
            proof.push(Hash(hash));
        }
        Ok(Self {
            old_size,
            proof,
            note: rest,
        })
    }

    /// Encodes a request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(BASE64_STANDARD.encode(h.0).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(self.note);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example request body from tlog-witness.md.
    const SPEC_EXAMPLE: &str = "old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
";

    #[test]
    fn parses_spec_example() {
        let r = AddCheckpointRequest::parse(SPEC_EXAMPLE.as_bytes()).expect("parses");
        assert_eq!(r.old_size, 20852014);
        assert_eq!(r.proof.len(), 4);
        assert_eq!(
            r.proof[0].to_string(),
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
        );
        assert!(
            r.note
                .starts_with(b"example.com/behind-the-sofa\n20852163\n")
        );
        assert_eq!(r.to_bytes(), SPEC_EXAMPLE.as_bytes());
        let note = headcount_cosignature::split_note(r.note).expect("note");
        assert_eq!(note.sigs.len(), 2);
    }

    #[test]
    fn empty_proof() {
        let r = AddCheckpointRequest::parse(b"old 0\n\nx\n").expect("parses");
        assert_eq!((r.old_size, r.proof.len(), r.note), (0, 0, &b"x\n"[..]));
    }

    #[test]
    fn rejects_malformed() {
        let h = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
        let bad_bodies: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"old 0".to_vec(),
            b"old 0\n".to_vec(),
            b"old 01\n\nx\n".to_vec(),
            b"old -1\n\nx\n".to_vec(),
            b"old +1\n\nx\n".to_vec(),
            b"old  1\n\nx\n".to_vec(),
            b"Old 1\n\nx\n".to_vec(),
            b"old 18446744073709551616\n\nx\n".to_vec(),
            b"old 1\r\n\nx\n".to_vec(),
            format!("old 1\n{}\nx\n", h.trim_end())
                .into_bytes()
                .split_at(10)
                .0
                .to_vec(),
            format!("old 1\n{}\r\n\nx\n", h.trim_end()).into_bytes(),
            b"old 1\nAAAA\n\nx\n".to_vec(),
            format!("old 1\n{}\n\nx\n", h.repeat(64)).into_bytes(),
        ];
        for b in bad_bodies {
            assert!(
                matches!(
                    AddCheckpointRequest::parse(&b),
                    Err(AddError::BadRequest(_))
                ),
                "{:?}",
                String::from_utf8_lossy(&b)
            );
        }
        // 63 lines is the maximum allowed.
        let ok = format!("old 1\n{}\nx\n", h.repeat(63));
        assert_eq!(
            AddCheckpointRequest::parse(ok.as_bytes())
                .expect("63")
                .proof
                .len(),
            63
        );
    }
}
