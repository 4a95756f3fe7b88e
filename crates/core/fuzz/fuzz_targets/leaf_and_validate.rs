//! A leaf from arbitrary bytes: `Leaf::decode` and `LogState::validate_leaf`
//! (decode, rules, Ed25519 verification) must never panic, whatever the input.
//!
//! The leaf is validated twice: against an empty log (`LogState::new()`), and
//! against a log that already holds the vector registrar, its batch 7 and the
//! vector campaign (docs/vectors/entries.json), so that the campaign rules
//! (open/close, accepted registrars, batches, proof of work, withdrawals) are
//! reachable too. Accepted changes are applied and the tallies read out.

#![no_main]

use std::sync::OnceLock;

use headcount_core::{Leaf, LogState, NoCredentials, Timestamp};
use libfuzzer_sys::fuzz_target;

/// The vector registrar, batch 7 and campaign (docs/vectors/entries.json).
const REGISTRAR: &str = "01018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a0010566563746f722052656769737472617200675765206d6565742065616368206170706c6963616e7420696e20706572736f6e20616e6420636865636b206f6e65206964656e7469747920646f63756d656e742e0a5765206b656570206e6f20636f707920616e64206e6f206c697374206f66206e616d65732e0015726567697374726172406578616d706c652e6f7267a421f791cf48555cdd4a423dc104ea6530ae0d3666643889b056aa3a28ff6a24d41574a556120f56423edb3982be437232336886e6c300f132b028cb9157d30f";
const BATCH: &str = "010279a815e2f6b0d9ac93df3f4ad814aceaa23745fcd4de2cfc90db56a481f8a0d000000007000001f4000000006955b90000000000695ef380c124e67d1d3d92799399f26c7f73ceebebaa7c143eeb87ac30957f1b9582bf24ea8d2d74df0ac4bb754945ada9026aa1a07058241206f8cc6810dcb355ee1906";
const CAMPAIGN: &str = "01038139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394020002656e000d546573742063616d706169676e000c412073746174656d656e742e00027a680006e6b58be8af950009e5a3b0e6988ee3808201000845766572796f6e650179a815e2f6b0d9ac93df3f4ad814aceaa23745fcd4de2cfc90db56a481f8a0d0000000006955b900000000006b36ec8008881fbd66bf0be6e564f6e151081b4c234f382cb8c87877255cc4da47ff52a9861d2e1eac5b271583352696d36f498e5516f69441671336cc7dad12b4dd84f80d";
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
        for hex in [REGISTRAR, BATCH, CAMPAIGN] {
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
