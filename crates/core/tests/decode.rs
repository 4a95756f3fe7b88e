//! Every class of malformed entry gets its stable code; round trips hold.

use headcount_core::entry::*;
use headcount_core::ids::*;
use headcount_core::testkit::{self, test_key};
use proptest::prelude::*;

fn vouched_bytes(alias: &str, message: &str) -> Vec<u8> {
    // Built by hand (not through `build`) so tests can make invalid ones.
    Entry::VouchedDeclaration(VouchedDeclaration {
        campaign: CampaignId([3; 32]),
        registrar: RegistrarId([4; 32]),
        reference: VouchReference([5; 32]),
        alias: alias.into(),
        message: message.into(),
        signature: [6; 64],
    })
    .encode()
}

fn code(bytes: &[u8]) -> &'static str {
    Entry::decode(bytes).unwrap_err().code()
}

#[test]
fn empty_entry() {
    assert_eq!(code(&[]), "empty_entry");
}

#[test]
fn every_truncation_is_rejected() {
    let b = vouched_bytes("alias", "message");
    for n in 1..b.len() {
        assert_eq!(code(&b[..n]), "truncated", "prefix of {n} bytes");
    }
}

#[test]
fn trailing_bytes() {
    let mut b = vouched_bytes("alias", "");
    b.push(0);
    assert_eq!(code(&b), "trailing_bytes");
}

#[test]
fn wrong_version_and_unknown_type() {
    let mut b = vouched_bytes("alias", "");
    b[0] = 1; // version 1 entries (registrar-chosen batch numbers) are no longer read
    assert_eq!(code(&b), "unsupported_version");
    b[0] = 3;
    assert_eq!(code(&b), "unsupported_version");
    let mut b = vouched_bytes("alias", "");
    b[1] = 9;
    assert_eq!(code(&b), "unknown_entry_type");
    b[1] = 0;
    assert_eq!(code(&b), "unknown_entry_type");
}

#[test]
fn invalid_utf8() {
    let mut b = vouched_bytes("ab", "");
    // alias bytes start after version, type, 3 × 32-byte ids and the 2-byte length.
    b[2 + 96 + 2] = 0xff;
    assert_eq!(code(&b), "invalid_utf8");
}

#[test]
fn non_nfc_text() {
    // "é" as e + COMBINING ACUTE ACCENT is not NFC.
    assert_eq!(code(&vouched_bytes("Jose\u{301}", "")), "not_nfc");
    assert_eq!(code(&vouched_bytes("José", "cafe\u{301}")), "not_nfc");
    assert!(Entry::decode(&vouched_bytes("José", "café")).is_ok());
}

#[test]
fn over_long_fields() {
    let long = "a".repeat(limits::ALIAS + 1);
    assert_eq!(code(&vouched_bytes(&long, "")), "field_too_long");
    let ok = "a".repeat(limits::ALIAS);
    assert!(Entry::decode(&vouched_bytes(&ok, "")).is_ok());
    let long = "言".repeat(limits::MESSAGE / 3 + 1);
    assert_eq!(code(&vouched_bytes("a", &long)), "field_too_long");
}

#[test]
fn control_characters_and_empty_fields() {
    assert_eq!(code(&vouched_bytes("a\nb", "")), "invalid_text");
    assert_eq!(code(&vouched_bytes("a\u{7}", "")), "invalid_text");
    assert_eq!(code(&vouched_bytes("ok", "bell\u{7}")), "invalid_text");
    assert!(Entry::decode(&vouched_bytes("ok", "two\nlines")).is_ok());
    assert_eq!(code(&vouched_bytes("", "")), "empty_field");
    // Bidi overrides are text, not control characters: accepted, rendered isolated.
    assert!(Entry::decode(&vouched_bytes("\u{202e}evil", "")).is_ok());
}

#[test]
fn campaign_structure_rules() {
    let key = test_key(9);
    let (Entry::Campaign(c), _) = testkit::campaign(&key, vec![RegistrarId([1; 32])], 10, 20, 0)
    else {
        unreachable!()
    };
    let mut bad = c.clone();
    bad.closes_at = bad.opens_at;
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "invalid_field"
    );
    let mut bad = c.clone();
    bad.registrars = vec![RegistrarId([2; 32]), RegistrarId([1; 32])];
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "invalid_field"
    );
    let mut bad = c.clone();
    bad.texts.clear();
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "empty_field"
    );
    let mut bad = c.clone();
    bad.texts[1].lang = "en".into();
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "invalid_field"
    );
    let mut bad = c.clone();
    bad.unverified_difficulty = 41;
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "invalid_field"
    );
    let mut bad = c;
    bad.addressees = vec!["x".into(); limits::ADDRESSEES + 1];
    assert_eq!(
        Entry::Campaign(bad).build().unwrap_err().code(),
        "field_too_long"
    );
}

#[test]
fn oversized_entry() {
    let b = vec![1u8; MAX_ENTRY_LEN + 1];
    assert_eq!(code(&b), "field_too_long");
}

fn text_strategy(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('a', 'z'),
            proptest::char::range('\u{4e00}', '\u{4fff}'),
            Just('é'),
            Just(' '),
        ],
        1..max.min(40),
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn vouched_round_trip(alias in text_strategy(limits::ALIAS), msg in text_strategy(limits::MESSAGE), r in any::<[u8; 32]>()) {
        let e = Entry::VouchedDeclaration(VouchedDeclaration {
            campaign: CampaignId(r), registrar: RegistrarId([1; 32]), reference: VouchReference(r),
            alias, message: msg, signature: [9; 64],
        });
        let b = e.encode();
        prop_assert_eq!(Entry::decode(&b).unwrap(), e);
    }

    #[test]
    fn declaration_round_trip(alias in text_strategy(limits::ALIAS), proof in proptest::collection::vec(any::<u8>(), 1..300), period in any::<u32>(), pred in any::<[u8; 32]>()) {
        let e = Entry::Declaration(Declaration {
            campaign: CampaignId([1; 32]), pseudonym: Pseudonym([2; 48]), registrar: RegistrarId([3; 32]),
            period: headcount_core::Period(period), predecessor: EntryHash(pred), alias, message: String::new(), proof,
        });
        let b = e.encode();
        prop_assert_eq!(Entry::decode(&b).unwrap(), e);
    }

    #[test]
    fn unverified_period_and_retirement_round_trip(nonce in any::<u64>(), period in any::<u32>(), size in 1u32.., reason in text_strategy(limits::RETIREMENT_REASON)) {
        let e = Entry::UnverifiedDeclaration(UnverifiedDeclaration {
            campaign: CampaignId([1; 32]), alias: "a".into(), message: String::new(), nonce });
        prop_assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
        let e = Entry::IssuancePeriod(IssuancePeriod {
            registrar: RegistrarId([1; 32]), period: headcount_core::Period(period), size, signature: [0; 64] });
        prop_assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
        let e = Entry::RegistrarRetirement(RegistrarRetirement {
            registrar: RegistrarId([1; 32]), reason, signature: [0; 64] });
        prop_assert_eq!(Entry::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode_exactly(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.encode(), bytes);
        }
    }

    #[test]
    fn mutated_vectors_reencode_exactly_or_fail(i in 0usize..200, v in any::<u8>()) {
        let (_, mut b) = testkit::vouched(&test_key(1), RegistrarId([1; 32]), CampaignId([2; 32]), [3; 32], "alias");
        let i = i % b.len();
        b[i] = v;
        if let Ok(e) = Entry::decode(&b) {
            prop_assert_eq!(e.encode(), b);
        }
    }
}

#[test]
fn building_an_over_long_field_is_an_error_not_a_panic() {
    let e = Entry::VouchedDeclaration(VouchedDeclaration {
        campaign: CampaignId([3; 32]),
        registrar: RegistrarId([4; 32]),
        reference: VouchReference([5; 32]),
        alias: "a".repeat(70_000),
        message: String::new(),
        signature: [6; 64],
    });
    assert!(e.build().is_err());
}
