//! A packet file from anyone: reading and verifying arbitrary bytes must
//! never panic, and an archive that reads must write back to one that reads
//! to the same packet.

#![no_main]

use headcount_evidence::{Packet, Pins, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::from_zip(data) else {
        return;
    };
    let _ = verify(&p, &Pins::default(), &headcount_core::NoCredentials);
    if let Ok(again) = p.to_zip() {
        assert_eq!(Packet::from_zip(&again).as_ref(), Ok(&p));
    }
});
