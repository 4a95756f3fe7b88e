//! A leaf from arbitrary bytes: `Leaf::decode` and `LogState::validate_leaf`
//! (decode, rules, Ed25519 verification) must never panic, whatever the input.
//!
//! The leaf is validated twice: against an empty log (`LogState::new()`), and
//! against a log that already holds the vector registrar, its issuance period 2025-12 and the
//! vector campaign (docs/vectors/entries.json), so that the campaign rules
//! (open/close, accepted registrars, periods, predecessors, proof of work, withdrawals) are
//! reachable too. Accepted changes are applied and the tallies read out.

#![no_main]

use std::sync::OnceLock;

use headcount_core::{Leaf, LogState, NoCredentials, Timestamp};
use libfuzzer_sys::fuzz_target;

/// The vector registrar, its period 2025-12 and campaign (docs/vectors/entries.json).
const REGISTRAR: &str = "02018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c8b9a051b77956975dd6ebca347ee6108857fe4e58ea52170dd2b7f62d67254dbaaea9f870c617e0b7b825d1c4b5ddc8b0c397d4f1b25ecd817ed32a05477c27b9c2933b2cd3b1517810d62789298d744b04657a20907145238d97a486bd9f9f10010566563746f722052656769737472617200675765206d6565742065616368206170706c6963616e7420696e20706572736f6e20616e6420636865636b206f6e65206964656e7469747920646f63756d656e742e0a5765206b656570206e6f20636f707920616e64206e6f206c697374206f66206e616d65732e0015726567697374726172406578616d706c652e6f72674abca0643d56f7d3384fe73a5e8c639601d8e1ef864c71bd2745f741b27ac09d16dbb53a0a45bbd55051eeb2f375bb062ec3aebc303b3137a8fa76833b552f0e";
const PERIOD: &str = "020250d4724bfc881b2e46e93717018034d7331ee219e65b468e6bade24c717783050000029f000001f410f758e8dcd55be6dc1c4b745548b3b163dceaba0492e181cd23c3942bf6502bcfb31d70a058f24256d225b602ffdd1b679662ef9db6f853cd843c1b46267e00";
const CAMPAIGN: &str = "02038139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394020002656e000d546573742063616d706169676e000c412073746174656d656e742e00027a680006e6b58be8af950009e5a3b0e6988ee3808201000845766572796f6e650150d4724bfc881b2e46e93717018034d7331ee219e65b468e6bade24c71778305000000006955b900000000006b36ec800800000064e8f78397957238ab0e100e4ed14c43946f1da8bb12f0bd0f54e776241416dd79956c6f558686f42268adbc439fcadaeaed8367a8fda80812f42cd56425635403";
/// 2026-01-01T00:00:00Z, when the vector campaign opens.
const OPENS: u64 = 1_767_225_600;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("vector hex"))
        .collect()
}

fn seeded() -> &'static LogState {
    static STATE: OnceLock<LogState> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut state = LogState::new();
        for hex in [REGISTRAR, PERIOD, CAMPAIGN] {
            let leaf = Leaf {
                timestamp: Timestamp(OPENS),
                entry: unhex(hex),
            };
            state
                .push(&leaf, &NoCredentials)
                .expect("the vector entries are valid in this order");
        }
        state
    })
}

fn check(state: &LogState, leaf: &Leaf) {
    match state.validate_leaf(leaf, &NoCredentials) {
        Ok((entry, change)) => {
            let mut after = state.clone();
            after.apply(leaf.timestamp, change);
            assert_eq!(after.size, state.size + 1);
            assert_eq!(after.last_timestamp, leaf.timestamp);
            if let Some(c) = entry.campaign() {
                let _ = after.tally(&c);
            }
            for t in after.tallies() {
                assert_eq!(t.credible, t.credentialed + t.vouched);
                assert!(t.distinct_lower_bound <= t.credible);
            }
        }
        Err(rejection) => {
            // Every rejection has a stable, non-empty code.
            assert!(!rejection.code().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(leaf) = Leaf::decode(data) else {
        return;
    };
    assert_eq!(leaf.encode(), data, "leaf decode/encode is not the identity");
    check(&LogState::new(), &leaf);
    check(seeded(), &leaf);
});
