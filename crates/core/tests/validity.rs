//! The validity rules and the tally fold, end to end on the pure core.

use headcount_core::entry::*;
use headcount_core::ids::*;
use headcount_core::testkit::{self, test_key};
use headcount_core::{Leaf, LogState, NoCredentials, Period, Rejection, Timestamp};

const OPEN: u64 = 1_800_000_000; // a whole minute
const CLOSE: u64 = OPEN + 86_400;

struct World {
    state: LogState,
    reg_key: ed25519_dalek::SigningKey,
    rid: RegistrarId,
    cid: CampaignId,
}

fn at(t: u64, bytes: &[u8]) -> Leaf {
    Leaf {
        timestamp: Timestamp(t),
        entry: bytes.to_vec(),
    }
}

fn world(difficulty: u8) -> World {
    let mut state = LogState::new();
    let reg_key = test_key(1);
    let (reg, rb) = testkit::registrar(&reg_key, [7; 96], "Registrar One");
    let Entry::Registrar(r) = reg else {
        unreachable!()
    };
    state.push(&at(OPEN - 600, &rb), &NoCredentials).unwrap();
    let (camp, cb) = testkit::campaign(&test_key(2), vec![r.id()], OPEN, CLOSE, difficulty);
    let Entry::Campaign(c) = camp else {
        unreachable!()
    };
    state.push(&at(OPEN - 600, &cb), &NoCredentials).unwrap();
    World {
        state,
        reg_key,
        rid: r.id(),
        cid: c.id(),
    }
}

fn reject(w: &World, t: u64, bytes: &[u8]) -> Rejection {
    let before = w.state.tallies();
    let err = w
        .state
        .validate_leaf(&at(t, bytes), &NoCredentials)
        .unwrap_err();
    assert_eq!(w.state.tallies(), before);
    err
}

#[test]
fn vouched_declarations_dedup_by_registrar_and_reference() {
    let mut w = world(0);
    for (i, r) in [[1u8; 32], [2; 32], [1; 32]].iter().enumerate() {
        let (_, b) = testkit::vouched(&w.reg_key, w.rid, w.cid, *r, &format!("caller {i}"));
        w.state.push(&at(OPEN + 60, &b), &NoCredentials).unwrap();
    }
    let t = w.state.tally(&w.cid).unwrap();
    assert_eq!((t.vouched, t.credible, t.tree_size), (2, 2, 5));
    assert_eq!(t.by_registrar[0].vouched, 2);
}

#[test]
fn campaign_window_is_enforced_against_the_leaf_timestamp() {
    let w = world(0);
    let (_, b) = testkit::vouched(&w.reg_key, w.rid, w.cid, [1; 32], "early");
    assert_eq!(reject(&w, OPEN - 60, &b).code(), "campaign_not_open");
    assert_eq!(reject(&w, CLOSE, &b).code(), "campaign_closed");
    assert!(
        w.state
            .validate_leaf(&at(CLOSE - 60, &b), &NoCredentials)
            .is_ok()
    );
}

#[test]
fn bad_signature_unknown_campaign_and_registrar_not_accepted() {
    let w = world(0);
    let (e, _) = testkit::vouched(&w.reg_key, w.rid, w.cid, [1; 32], "x");
    let Entry::VouchedDeclaration(mut v) = e else {
        unreachable!()
    };
    v.signature[0] ^= 1;
    let b = Entry::VouchedDeclaration(v.clone()).encode();
    assert_eq!(reject(&w, OPEN, &b).code(), "bad_signature");
    // Signed by someone else's key.
    let (_, b) = testkit::vouched(&test_key(3), w.rid, w.cid, [1; 32], "x");
    assert_eq!(reject(&w, OPEN, &b).code(), "bad_signature");
    let (_, b) = testkit::vouched(&w.reg_key, w.rid, CampaignId([9; 32]), [1; 32], "x");
    assert_eq!(reject(&w, OPEN, &b).code(), "unknown_campaign");
    // A registrar in the log that the campaign does not accept.
    let mut w = w;
    let other = test_key(4);
    let (Entry::Registrar(r2), rb) = testkit::registrar(&other, [8; 96], "Other") else {
        unreachable!()
    };
    w.state.push(&at(OPEN, &rb), &NoCredentials).unwrap();
    let (_, b) = testkit::vouched(&other, r2.id(), w.cid, [1; 32], "x");
    assert_eq!(reject(&w, OPEN, &b).code(), "registrar_not_accepted");
    // A registrar that is not in the log at all: the campaign cannot accept it.
    let (_, b) = testkit::vouched(&other, RegistrarId([0xee; 32]), w.cid, [1; 32], "x");
    assert_eq!(reject(&w, OPEN, &b).code(), "registrar_not_accepted");
}

#[test]
fn bad_organiser_and_registrar_self_signatures() {
    let w = world(0);
    let (Entry::Campaign(mut c), _) = testkit::campaign(&test_key(5), vec![w.rid], OPEN, CLOSE, 0)
    else {
        unreachable!()
    };
    c.signature[10] ^= 0x40;
    assert_eq!(
        reject(&w, OPEN, &Entry::Campaign(c).encode()).code(),
        "bad_signature"
    );
    let (Entry::Registrar(mut r), _) = testkit::registrar(&test_key(6), [1; 96], "R") else {
        unreachable!()
    };
    r.name = "Renamed".into();
    assert_eq!(
        reject(&w, OPEN, &Entry::Registrar(r).encode()).code(),
        "bad_signature"
    );
}

/// The month before the one containing `OPEN`: over at `OPEN`.
fn last_month() -> Period {
    Period(Period::containing(OPEN).0 - 1)
}

#[test]
fn duplicates_of_registrars_campaigns_and_periods() {
    let mut w = world(0);
    let (_, rb) = testkit::registrar(&w.reg_key, [7; 96], "Registrar One");
    assert_eq!(reject(&w, OPEN, &rb).code(), "registrar_exists");
    let (_, cb) = testkit::campaign(&test_key(2), vec![w.rid], OPEN, CLOSE, 0);
    assert_eq!(reject(&w, OPEN, &cb).code(), "campaign_exists");
    let (_, bb) = testkit::period(&w.reg_key, w.rid, last_month(), 100);
    w.state.push(&at(OPEN, &bb), &NoCredentials).unwrap();
    let (_, bb2) = testkit::period(&w.reg_key, w.rid, last_month(), 200);
    assert_eq!(reject(&w, OPEN, &bb2).code(), "period_exists");
    let earlier = Period(last_month().0 - 1);
    let (_, bb3) = testkit::period(&test_key(9), w.rid, earlier, 200);
    assert_eq!(reject(&w, OPEN, &bb3).code(), "bad_signature");
    // A campaign naming a registrar that is not in the log.
    let (_, cb) = testkit::campaign(&test_key(2), vec![RegistrarId([0xaa; 32])], OPEN, CLOSE, 0);
    assert_eq!(reject(&w, OPEN, &cb).code(), "unknown_registrar");
}

#[test]
fn unverified_declarations_need_work_and_count_apart() {
    let mut w = world(10);
    let (_, b) = testkit::unverified(w.cid, "anon", 10);
    w.state.push(&at(OPEN, &b), &NoCredentials).unwrap();
    assert_eq!(reject(&w, OPEN, &b).code(), "duplicate_entry");
    // Find a nonce with too little work.
    let mut d = UnverifiedDeclaration {
        campaign: w.cid,
        alias: "lazy".into(),
        message: String::new(),
        nonce: 0,
    };
    while headcount_core::pow::work_bits(&d) >= 10 {
        d.nonce += 1;
    }
    let b = Entry::UnverifiedDeclaration(d).encode();
    assert_eq!(reject(&w, OPEN, &b).code(), "insufficient_work");
    let t = w.state.tally(&w.cid).unwrap();
    assert_eq!((t.unverified, t.credible), (1, 0));

    let w0 = world(0);
    let (_, b) = testkit::unverified(w0.cid, "anon", 1);
    assert_eq!(reject(&w0, OPEN, &b).code(), "unverified_not_accepted");
}

#[test]
fn credentialed_entries_are_never_accepted_unchecked() {
    let mut w = world(0);
    let (_, bb) = testkit::period(&w.reg_key, w.rid, last_month(), 100);
    w.state.push(&at(OPEN, &bb), &NoCredentials).unwrap();
    let d = Entry::Declaration(Declaration {
        campaign: w.cid,
        pseudonym: Pseudonym([1; 48]),
        registrar: w.rid,
        period: last_month(),
        predecessor: EntryHash::NONE,
        alias: "a".into(),
        message: String::new(),
        proof: vec![1; 300],
    });
    assert_eq!(reject(&w, OPEN, &d.encode()).code(), "unsupported_entry");
    let Entry::Declaration(mut d) = d else {
        unreachable!()
    };
    d.period = Period(last_month().0 - 1);
    assert_eq!(
        reject(&w, OPEN, &Entry::Declaration(d).encode()).code(),
        "period_not_logged"
    );
}

/// The registrar's tagging tricks that the log refuses: a period of its own
/// choosing that is not over, a period logged twice (e.g. a second, tiny
/// "batch" for one person), and a period too small for the campaign.
#[test]
fn a_registrar_cannot_log_a_period_early_twice_or_too_small() {
    let mut w = world(0);
    let this_month = Period::containing(OPEN);
    // Issuance into the current month cannot be logged until it is over...
    let (_, early) = testkit::period(&w.reg_key, w.rid, this_month, 500);
    assert_eq!(reject(&w, OPEN, &early).code(), "period_not_over");
    // ...nor any future month.
    let (_, future) = testkit::period(&w.reg_key, w.rid, this_month.next(), 500);
    assert_eq!(reject(&w, OPEN, &future).code(), "period_not_over");
    // It can once the month ends (first second of the next month, as a whole minute).
    let (_, on_time) = testkit::period(&w.reg_key, w.rid, this_month, 500);
    let next = this_month.end();
    assert!(
        w.state
            .validate_leaf(&at(next, &on_time), &NoCredentials)
            .is_ok()
    );
    assert_eq!(
        reject(&w, next - 60, &on_time).code(),
        "period_not_over",
        "the last minute of the month is still in it"
    );
    // A tiny period is logged (the bound is the registrar's word), but no
    // campaign counts a declaration from it.
    let (_, tiny) = testkit::period(&w.reg_key, w.rid, last_month(), 1);
    w.state.push(&at(OPEN, &tiny), &NoCredentials).unwrap();
    let (_, again) = testkit::period(&w.reg_key, w.rid, last_month(), 300);
    assert_eq!(reject(&w, OPEN, &again).code(), "period_exists");
    let d = Entry::Declaration(Declaration {
        campaign: w.cid,
        pseudonym: Pseudonym([1; 48]),
        registrar: w.rid,
        period: last_month(),
        predecessor: EntryHash::NONE,
        alias: "tagged".into(),
        message: String::new(),
        proof: vec![1; 300],
    });
    let err = reject(&w, OPEN, &d.encode());
    assert_eq!(err.code(), "anonymity_set_too_small");
    assert!(err.to_string().contains("logged 1 credentials"), "{err}");
}

#[test]
fn campaigns_require_at_least_the_protocol_minimum_anonymity() {
    let (Entry::Campaign(mut c), _) = testkit::campaign(&test_key(2), vec![], OPEN, CLOSE, 0)
    else {
        unreachable!()
    };
    c.min_anonymity = 99;
    let err = Entry::Campaign(c.clone()).sign(&test_key(2)).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    c.min_anonymity = 1000;
    let (e, _) = Entry::Campaign(c).sign(&test_key(2)).unwrap();
    let Entry::Campaign(c) = e else {
        unreachable!()
    };
    assert_eq!(c.min_anonymity, 1000);
}

#[test]
fn a_retired_registrar_logs_and_vouches_no_more() {
    let mut w = world(0);
    let (_, p1) = testkit::period(&w.reg_key, w.rid, last_month(), 150);
    w.state.push(&at(OPEN, &p1), &NoCredentials).unwrap();
    let (_, v1) = testkit::vouched(&w.reg_key, w.rid, w.cid, [1; 32], "before");
    w.state.push(&at(OPEN, &v1), &NoCredentials).unwrap();
    // Only the registrar's own key retires it.
    let (_, forged) = testkit::retirement(&test_key(9), w.rid);
    assert_eq!(reject(&w, OPEN, &forged).code(), "bad_signature");
    let (_, ret) = testkit::retirement(&w.reg_key, w.rid);
    w.state.push(&at(OPEN, &ret), &NoCredentials).unwrap();
    assert_eq!(reject(&w, OPEN, &ret).code(), "registrar_retired");
    let (_, v2) = testkit::vouched(&w.reg_key, w.rid, w.cid, [2; 32], "after");
    assert_eq!(reject(&w, OPEN, &v2).code(), "registrar_retired");
    let (_, p2) = testkit::period(&w.reg_key, w.rid, Period(last_month().0 - 1), 150);
    assert_eq!(reject(&w, OPEN, &p2).code(), "registrar_retired");
    let (_, c2) = testkit::campaign(&test_key(5), vec![w.rid], OPEN, CLOSE, 0);
    assert_eq!(reject(&w, OPEN, &c2).code(), "registrar_retired");
    // What was logged before the retirement still counts; the tally says it retired.
    let t = w.state.tally(&w.cid).unwrap();
    assert_eq!(t.vouched, 1);
    assert!(t.by_registrar[0].retired);
    assert_eq!(w.state.period_size(&w.rid, last_month()), Some(150));
}

#[test]
fn the_lower_bound_is_the_largest_single_registrar_count() {
    let mut state = LogState::new();
    let (k1, k2) = (test_key(1), test_key(3));
    let (Entry::Registrar(r1), b1) = testkit::registrar(&k1, [7; 96], "One") else {
        unreachable!()
    };
    let (Entry::Registrar(r2), b2) = testkit::registrar(&k2, [8; 96], "Two") else {
        unreachable!()
    };
    state.push(&at(OPEN, &b1), &NoCredentials).unwrap();
    state.push(&at(OPEN, &b2), &NoCredentials).unwrap();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r1.id(), r2.id()], OPEN, CLOSE, 0)
    else {
        unreachable!()
    };
    state.push(&at(OPEN, &cb), &NoCredentials).unwrap();
    for i in 0..3u8 {
        let (_, v) = testkit::vouched(&k1, r1.id(), c.id(), [i; 32], "one");
        state.push(&at(OPEN, &v), &NoCredentials).unwrap();
    }
    for i in 0..2u8 {
        let (_, v) = testkit::vouched(&k2, r2.id(), c.id(), [i; 32], "two");
        state.push(&at(OPEN, &v), &NoCredentials).unwrap();
    }
    let t = state.tally(&c.id()).unwrap();
    assert_eq!(t.credible, 5, "the headcount sums the registrars");
    assert_eq!(
        t.distinct_lower_bound, 3,
        "two people may be one: at least the largest registrar's count are distinct"
    );
}

#[test]
fn timestamps_must_be_whole_minutes_and_never_go_back() {
    let w = world(0);
    let (_, b) = testkit::vouched(&w.reg_key, w.rid, w.cid, [1; 32], "x");
    assert_eq!(reject(&w, OPEN + 1, &b).code(), "bad_timestamp");
    assert_eq!(reject(&w, OPEN - 1200, &b).code(), "bad_timestamp");
}

#[test]
fn tallies_are_deterministic_json() {
    let mut w = world(4);
    for i in 0..20u8 {
        let (_, b) = testkit::vouched(&w.reg_key, w.rid, w.cid, [i % 7; 32], &format!("x{i}"));
        w.state
            .push(&at(OPEN + 60 * u64::from(i), &b), &NoCredentials)
            .unwrap();
    }
    let a = serde_json::to_string(&w.state.tallies()).unwrap();
    let again = serde_json::to_string(&w.state.clone().tallies()).unwrap();
    assert_eq!(a, again);
    assert!(a.contains("\"vouched\":7"));
}
