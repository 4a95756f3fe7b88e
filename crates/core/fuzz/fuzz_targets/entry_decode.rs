//! `Entry::decode` on arbitrary bytes must never panic, and every input it
//! accepts must be the canonical encoding of what it decoded: decoding is
//! strict, so `decode(b).encode() == b`. The same entry wrapped in a leaf must
//! round-trip through `Leaf::decode` / `Leaf::encode`.

#![no_main]

use headcount_core::entry::Entry;
use headcount_core::ids::Timestamp;
use headcount_core::leaf::Leaf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entry) = Entry::decode(data) else {
        return;
    };
    // Canonical: exactly one encoding per entry.
    let encoded = entry.encode();
    assert_eq!(encoded, data, "decode/encode is not the identity");
    // Building (encode + re-decode) must succeed for an entry that decoded.
    let (rebuilt, bytes) = entry.clone().build().expect("a decoded entry builds");
    assert_eq!(rebuilt, entry);
    assert_eq!(bytes, data);
    // The unsigned part is a strict prefix (or, for unverified declarations, all).
    let unsigned = entry.unsigned_bytes();
    assert!(data.starts_with(&unsigned));
    // Leaf round trip, with a timestamp taken from the input.
    let ts = data
        .iter()
        .take(8)
        .fold(0u64, |acc, b| acc.rotate_left(8) ^ u64::from(*b));
    let leaf = Leaf {
        timestamp: Timestamp(ts),
        entry: data.to_vec(),
    };
    let leaf_bytes = leaf.encode();
    let back = Leaf::decode(&leaf_bytes).expect("a leaf of a valid entry decodes");
    assert_eq!(back, leaf);
    assert_eq!(back.encode(), leaf_bytes);
    assert_eq!(back.decode_entry().expect("entry decodes again"), entry);
    // Ids and hashes are total.
    let _ = entry.hash();
    let _ = entry.campaign();
});
