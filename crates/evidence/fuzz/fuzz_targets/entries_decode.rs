//! `entries.bin` (compact packets): decoding arbitrary bytes must never
//! panic, and what decodes must encode back to the same bytes (strict).

#![no_main]

use headcount_evidence::{decode_entries, encode_entries};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = decode_entries(data) {
        assert_eq!(encode_entries(&records), data);
    }
});
