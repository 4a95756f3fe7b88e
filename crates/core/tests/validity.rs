//! The validity rules and the tally fold, end to end on the pure core.

use headcount_core::entry::*;
use headcount_core::ids::*;
use headcount_core::testkit::{self, test_key};
use headcount_core::{Leaf, LogState, NoCredentials, Rejection, Timestamp};

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

#[test]
fn duplicates_of_registrars_campaigns_and_batches() {
    let mut w = world(0);
    let (_, rb) = testkit::registrar(&w.reg_key, [7; 96], "Registrar One");
    assert_eq!(reject(&w, OPEN, &rb).code(), "registrar_exists");
    let (_, cb) = testkit::campaign(&test_key(2), vec![w.rid], OPEN, CLOSE, 0);
    assert_eq!(reject(&w, OPEN, &cb).code(), "campaign_exists");
    let (_, bb) = testkit::batch(&w.reg_key, w.rid, 1, 100);
    w.state.push(&at(OPEN, &bb), &NoCredentials).unwrap();
    let (_, bb2) = testkit::batch(&w.reg_key, w.rid, 1, 200);
    assert_eq!(reject(&w, OPEN, &bb2).code(), "batch_exists");
    let (_, bb3) = testkit::batch(&test_key(9), w.rid, 2, 200);
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
    let (_, bb) = testkit::batch(&w.reg_key, w.rid, 1, 100);
    w.state.push(&at(OPEN, &bb), &NoCredentials).unwrap();
    let d = Entry::Declaration(Declaration {
        campaign: w.cid,
        pseudonym: Pseudonym([1; 48]),
        registrar: w.rid,
        batch: 1,
        alias: "a".into(),
        message: String::new(),
        proof: vec![1; 300],
    });
    assert_eq!(reject(&w, OPEN, &d.encode()).code(), "unsupported_entry");
    let Entry::Declaration(mut d) = d else {
        unreachable!()
    };
    d.batch = 2;
    assert_eq!(
        reject(&w, OPEN, &Entry::Declaration(d).encode()).code(),
        "batch_not_published"
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
