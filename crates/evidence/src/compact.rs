//! `entries.bin` (compact mode): the campaign's entries, each with its
//! RFC 6962 inclusion proof against the checkpoint, in log order.
//!
//! ```text
//! magic    "HCEV-ENTRIES-1\n"                  15 bytes
//! count    u64, big-endian
//! count × record:
//!   index      u64, big-endian   leaf index; strictly increasing
//!   leaf_len   u32, big-endian   at most 65 535
//!   leaf       leaf_len bytes    the log leaf exactly as in its entry bundle
//!   proof_len  u8                at most 63
//!   proof      proof_len × 32 bytes, the audit path, leaf's sibling first
//! ```

use headcount_tlog::Hash;

use crate::error::PacketError;

/// The file's first bytes.
pub const MAGIC: &[u8; 15] = b"HCEV-ENTRIES-1\n";
/// Longest leaf: what an entry bundle can hold.
pub const MAX_LEAF: usize = headcount_tlog::MAX_ENTRY_SIZE;

/// One entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq)]
pub struct ProvedLeaf {
    pub index: u64,
    pub leaf: Vec<u8>,
    pub proof: Vec<Hash>,
}

/// Encodes records (the caller orders them by index).
pub fn encode(records: &[ProvedLeaf]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        23 + records
            .iter()
            .map(|r| 13 + r.leaf.len() + 32 * r.proof.len())
            .sum::<usize>(),
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(records.len() as u64).to_be_bytes());
    for r in records {
        out.extend_from_slice(&r.index.to_be_bytes());
        out.extend_from_slice(&(r.leaf.len() as u32).to_be_bytes());
        out.extend_from_slice(&r.leaf);
        out.push(r.proof.len() as u8);
        for h in &r.proof {
            out.extend_from_slice(&h.0);
        }
    }
    out
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], PacketError> {
    if rest.len() < n {
        return Err(PacketError::Format("entries.bin is truncated".into()));
    }
    let (a, b) = rest.split_at(n);
    *rest = b;
    Ok(a)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_be_bytes(a)
}

/// Decodes, strictly: the magic, the count, indices strictly increasing,
/// bounded leaves and proofs, nothing after the last record.
pub fn decode(bytes: &[u8]) -> Result<Vec<ProvedLeaf>, PacketError> {
    let bad = |m: &str| PacketError::Format(format!("entries.bin: {m}"));
    let mut rest = bytes;
    if take(&mut rest, MAGIC.len())? != MAGIC {
        return Err(bad("bad magic"));
    }
    let count = be_u64(take(&mut rest, 8)?);
    // Each record is at least 13 bytes: no allocation an attacker controls.
    if count > (rest.len() / 13) as u64 {
        return Err(bad("count larger than the file"));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut last: Option<u64> = None;
    for _ in 0..count {
        let index = be_u64(take(&mut rest, 8)?);
        if last.is_some_and(|l| index <= l) {
            return Err(bad("indices are not strictly increasing"));
        }
        last = Some(index);
        let mut l = [0u8; 4];
        l.copy_from_slice(take(&mut rest, 4)?);
        let len = u32::from_be_bytes(l) as usize;
        if len > MAX_LEAF {
            return Err(bad("leaf too long"));
        }
        let leaf = take(&mut rest, len)?.to_vec();
        let n = take(&mut rest, 1)?[0] as usize;
        if n > 63 {
            return Err(bad("proof too long"));
        }
        let proof = take(&mut rest, 32 * n)?
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                Hash(h)
            })
            .collect();
        out.push(ProvedLeaf { index, leaf, proof });
    }
    if !rest.is_empty() {
        return Err(bad("bytes after the last record"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let recs = vec![
            ProvedLeaf {
                index: 3,
                leaf: b"abc".to_vec(),
                proof: vec![Hash([7; 32]), Hash([9; 32])],
            },
            ProvedLeaf {
                index: 10,
                leaf: vec![],
                proof: vec![],
            },
        ];
        let bytes = encode(&recs);
        assert_eq!(decode(&bytes).unwrap(), recs);
        // Truncated, trailing bytes, bad magic, unordered.
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        let mut more = bytes.clone();
        more.push(0);
        assert!(decode(&more).is_err());
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(decode(&magic).is_err());
        let swapped = encode(&[recs[1].clone(), recs[0].clone()]);
        assert!(decode(&swapped).is_err());
        // A count far beyond the file allocates nothing.
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(decode(&huge).is_err());
    }
}
