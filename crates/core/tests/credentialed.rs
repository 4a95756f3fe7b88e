//! Credentialed declarations end to end on the pure core: blind issuance,
//! pseudonyms per campaign, re-declaration, withdrawal, claims, the bound,
//! and the predecessor chain that stops an operator from holding entries back.

use headcount_core::credentials::{self, BbsCredentials};
use headcount_core::entry::*;
use headcount_core::ids::*;
use headcount_core::testkit::{self, test_key};
use headcount_core::{Leaf, LogState, Period, Rejection, Timestamp};
use headcount_credentials as bbs;
use rand::rngs::OsRng;

const OPEN: u64 = 1_800_000_000;
const CLOSE: u64 = OPEN + 86_400;

struct World {
    state: LogState,
    reg_key: ed25519_dalek::SigningKey,
    bbs_sk: bbs::RegistrarSecretKey,
    rid: RegistrarId,
    campaigns: Vec<CampaignId>,
}

fn at(t: u64, bytes: &[u8]) -> Leaf {
    Leaf {
        timestamp: Timestamp(t),
        entry: bytes.to_vec(),
    }
}

fn push(w: &mut World, bytes: &[u8]) -> Result<(), Rejection> {
    w.state
        .push(&at(OPEN + 60, bytes), &BbsCredentials)
        .map(|_| ())
}

/// `k` months before the month of `OPEN` (so over at `OPEN`).
fn month(k: u32) -> Period {
    Period(Period::containing(OPEN).0 - k)
}

fn world(periods: &[(u32, u32)]) -> World {
    let mut state = LogState::new();
    let reg_key = test_key(1);
    let bbs_sk = testkit::bbs_secret(3);
    let (Entry::Registrar(r), rb) =
        testkit::registrar(&reg_key, bbs_sk.public_key().to_bytes(), "R")
    else {
        unreachable!()
    };
    state.push(&at(OPEN, &rb), &BbsCredentials).unwrap();
    let mut campaigns = Vec::new();
    for k in [2u8, 5] {
        let (Entry::Campaign(c), cb) =
            testkit::campaign(&test_key(k), vec![r.id()], OPEN, CLOSE, 0)
        else {
            unreachable!()
        };
        state.push(&at(OPEN, &cb), &BbsCredentials).unwrap();
        campaigns.push(c.id());
    }
    for (k, size) in periods {
        let (_, bb) = testkit::period(&reg_key, r.id(), month(*k), *size);
        state.push(&at(OPEN, &bb), &BbsCredentials).unwrap();
    }
    World {
        state,
        reg_key,
        bbs_sk,
        rid: r.id(),
        campaigns,
    }
}

fn credential(w: &World, k: u32) -> bbs::Credential {
    let nym = bbs::NymSecret::generate(&mut OsRng);
    let (req, st) = bbs::request_credential(&nym, &mut OsRng).unwrap();
    let attrs = bbs::Attributes {
        registrar_id: w.rid.0,
        period: month(k).0,
    };
    let sig = bbs::issue(&w.bbs_sk, &req, &attrs, &mut OsRng).unwrap();
    bbs::finish_credential(&w.bbs_sk.public_key(), &sig, st, &nym, &attrs).unwrap()
}

fn declare(
    w: &World,
    cred: &bbs::Credential,
    campaign: usize,
    predecessor: EntryHash,
    alias: &str,
) -> (Declaration, Vec<u8>) {
    let (e, b) = credentials::declaration(
        cred,
        &w.bbs_sk.public_key(),
        w.campaigns[campaign],
        predecessor,
        alias,
        "msg",
        &mut OsRng,
    )
    .unwrap();
    let Entry::Declaration(d) = e else {
        unreachable!()
    };
    (d, b)
}

fn withdraw(w: &World, cred: &bbs::Credential, predecessor: EntryHash) -> Vec<u8> {
    credentials::withdrawal(
        cred,
        &w.bbs_sk.public_key(),
        w.campaigns[0],
        predecessor,
        &mut OsRng,
    )
    .unwrap()
    .1
}

const NONE: EntryHash = EntryHash::NONE;

fn h(bytes: &[u8]) -> EntryHash {
    EntryHash::of(bytes)
}

#[test]
fn same_pseudonym_in_a_campaign_unlinkable_across_campaigns() {
    let mut w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (a1, b1) = declare(&w, &cred, 0, NONE, "First");
    let (a2, b2) = declare(&w, &cred, 0, h(&b1), "Second");
    let (b, bb) = declare(&w, &cred, 1, NONE, "Elsewhere");
    assert_eq!(
        a1.pseudonym, a2.pseudonym,
        "one credential, one pseudonym per campaign"
    );
    assert_ne!(
        a1.pseudonym, b.pseudonym,
        "different campaigns, different pseudonyms"
    );
    assert_ne!(a1.proof, a2.proof, "proofs are randomised");
    push(&mut w, &b1).unwrap();
    push(&mut w, &b2).unwrap();
    push(&mut w, &bb).unwrap();
    let t = w.state.tally(&w.campaigns[0]).unwrap();
    assert_eq!(
        (t.credentialed, t.credible),
        (1, 1),
        "re-declaration counted once"
    );
    assert_eq!(t.by_registrar[0].periods[0].declarations, 1);
    assert_eq!(t.by_registrar[0].periods[0].period, month(1));
    assert_eq!(w.state.tally(&w.campaigns[1]).unwrap().credentialed, 1);
}

#[test]
fn proofs_are_bound_to_campaign_and_body() {
    let w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (mut d, _) = declare(&w, &cred, 0, NONE, "Alias");
    // The same proof moved to campaign B.
    let mut moved = d.clone();
    moved.campaign = w.campaigns[1];
    let err = w
        .state
        .validate_leaf(
            &at(OPEN + 60, &Entry::Declaration(moved).encode()),
            &BbsCredentials,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_proof");
    // A changed alias: the header no longer matches.
    d.alias = "Someone else".into();
    let err = w
        .state
        .validate_leaf(
            &at(OPEN + 60, &Entry::Declaration(d.clone()).encode()),
            &BbsCredentials,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_proof");
    // Another pseudonym with a valid proof for a different one.
    let (mut other, _) = declare(&w, &credential(&w, 1), 0, NONE, "Alias");
    other.pseudonym = d.pseudonym;
    let err = w
        .state
        .validate_leaf(
            &at(OPEN + 60, &Entry::Declaration(other).encode()),
            &BbsCredentials,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_proof");
    // Garbage proofs of every length are rejected cleanly.
    for len in [1usize, 100, 335, 336, 337, 672] {
        let mut g = d.clone();
        g.proof = vec![0x5a; len];
        let err = w
            .state
            .validate_leaf(
                &at(OPEN + 60, &Entry::Declaration(g).encode()),
                &BbsCredentials,
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_proof", "length {len}");
    }
}

#[test]
fn withdrawal_removes_and_redeclaration_restores() {
    let mut w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (_, b) = declare(&w, &cred, 0, NONE, "A");
    push(&mut w, &b).unwrap();
    let wb = withdraw(&w, &cred, h(&b));
    push(&mut w, &wb).unwrap();
    let t = w.state.tally(&w.campaigns[0]).unwrap();
    assert_eq!((t.credentialed, t.withdrawals), (0, 1));
    // Withdrawing again: nothing to withdraw.
    let wb2 = withdraw(&w, &cred, h(&wb));
    assert_eq!(push(&mut w, &wb2).unwrap_err().code(), "not_declared");
    let (_, b) = declare(&w, &cred, 0, h(&wb), "Back");
    push(&mut w, &b).unwrap();
    assert_eq!(w.state.tally(&w.campaigns[0]).unwrap().credentialed, 1);
}

#[test]
fn credentials_of_an_unlogged_period_are_rejected() {
    let w = world(&[(1, 100)]);
    let cred = credential(&w, 2);
    let (_, b) = declare(&w, &cred, 0, NONE, "A");
    let err = w
        .state
        .validate_leaf(&at(OPEN + 60, &b), &BbsCredentials)
        .unwrap_err();
    assert_eq!(err.code(), "period_not_logged");
    assert!(err.to_string().contains("after that month ends"), "{err}");
}

#[test]
fn a_registrar_minting_beyond_its_period_is_over_bound() {
    // Month 1 logged with the minimum of 100 but 101 holders declare; month 2 is honest.
    let mut w = world(&[(1, 100), (2, 150)]);
    for _ in 0..101 {
        let (_, b) = declare(&w, &credential(&w, 1), 0, NONE, "A");
        push(&mut w, &b).unwrap();
    }
    let (_, b) = declare(&w, &credential(&w, 2), 0, NONE, "B");
    push(&mut w, &b).unwrap();
    let (_, vb) = testkit::vouched(&w.reg_key, w.rid, w.campaigns[0], [1; 32], "V");
    push(&mut w, &vb).unwrap();
    let t = w.state.tally(&w.campaigns[0]).unwrap();
    assert_eq!(
        t.credentialed_over_bound, 101,
        "month 1 logged 100 but holds 101"
    );
    assert_eq!(t.credentialed, 1, "only month 2 counts");
    assert_eq!(t.credible, 2);
    let over: Vec<_> = t
        .over_bound()
        .map(|(r, p)| (*r, p.period, p.declarations, p.size))
        .collect();
    assert_eq!(over, vec![(w.rid, month(1), 101, 100)]);
}

/// The operator holds a withdrawal; the declarant, seeing no receipt, makes
/// a new withdrawal and later declares again. Releasing the held withdrawal
/// would remove them: its predecessor is no longer the latest entry.
#[test]
fn a_held_withdrawal_cannot_be_released_after_a_redeclaration() {
    let mut w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (_, d1) = declare(&w, &cred, 0, NONE, "A");
    push(&mut w, &d1).unwrap();
    let held = withdraw(&w, &cred, h(&d1));
    let retried = withdraw(&w, &cred, h(&d1));
    assert_ne!(
        held, retried,
        "proofs are randomised: two different entries"
    );
    push(&mut w, &retried).unwrap();
    let (_, d2) = declare(&w, &cred, 0, h(&retried), "A again");
    push(&mut w, &d2).unwrap();
    let before = w.state.tally(&w.campaigns[0]).unwrap();
    let err = push(&mut w, &held).unwrap_err();
    assert_eq!(err.code(), "stale_predecessor");
    assert_eq!(w.state.tally(&w.campaigns[0]).unwrap(), before);
    assert_eq!(before.credentialed, 1, "still counted");
}

/// The operator holds a re-declaration, logs the declarant's later
/// withdrawal, then tries to release the held declaration to count them again.
#[test]
fn a_held_declaration_cannot_be_released_after_a_withdrawal() {
    let mut w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (_, d1) = declare(&w, &cred, 0, NONE, "A");
    push(&mut w, &d1).unwrap();
    let (_, held) = declare(&w, &cred, 0, h(&d1), "A, edited");
    let wd = withdraw(&w, &cred, h(&d1));
    push(&mut w, &wd).unwrap();
    let err = push(&mut w, &held).unwrap_err();
    assert_eq!(err.code(), "stale_predecessor");
    assert_eq!(w.state.tally(&w.campaigns[0]).unwrap().credentialed, 0);
    // A first declaration must say it is the first.
    let (_, late_first) = declare(&w, &cred, 0, NONE, "A, first again");
    assert_eq!(
        push(&mut w, &late_first).unwrap_err().code(),
        "stale_predecessor"
    );
    assert_eq!(
        w.state.latest_entry(&w.campaigns[0], &{
            let Entry::Withdrawal(x) = Entry::decode(&wd).unwrap() else {
                unreachable!()
            };
            x.pseudonym
        }),
        h(&wd)
    );
}

/// A credential of a period logged below the campaign's minimum anonymity
/// is refused, even though its proof is valid.
#[test]
fn a_tiny_period_is_refused_by_the_log() {
    let mut w = world(&[(1, 100)]);
    // A campaign that requires 500.
    let (Entry::Campaign(mut c), _) = testkit::campaign(&test_key(7), vec![w.rid], OPEN, CLOSE, 0)
    else {
        unreachable!()
    };
    c.min_anonymity = 500;
    let (Entry::Campaign(c), cb) = Entry::Campaign(c).sign(&test_key(7)).unwrap() else {
        unreachable!()
    };
    push(&mut w, &cb).unwrap();
    w.campaigns.push(c.id());
    let cred = credential(&w, 1);
    let (_, ok) = declare(&w, &cred, 0, NONE, "fine at 100");
    push(&mut w, &ok).unwrap();
    let (_, b) = declare(&w, &cred, 2, NONE, "needs 500");
    let err = push(&mut w, &b).unwrap_err();
    assert_eq!(err.code(), "anonymity_set_too_small");
}

/// After a registrar retires, credentials of its periods logged before still
/// count (within their bound); it can log no new period, so credentials a
/// thief mints can only claim old, bounded periods.
#[test]
fn declarations_under_a_retired_registrars_old_periods_still_count() {
    let mut w = world(&[(1, 100)]);
    let (_, ret) = testkit::retirement(&w.reg_key, w.rid);
    push(&mut w, &ret).unwrap();
    let (_, d) = declare(&w, &credential(&w, 1), 0, NONE, "old credential");
    push(&mut w, &d).unwrap();
    let (_, late) = testkit::period(&w.reg_key, w.rid, month(2), 100);
    assert_eq!(push(&mut w, &late).unwrap_err().code(), "registrar_retired");
    let (_, d2) = declare(
        &w,
        &credential(&w, 2),
        0,
        NONE,
        "minted for an unlogged month",
    );
    assert_eq!(push(&mut w, &d2).unwrap_err().code(), "period_not_logged");
    let t = w.state.tally(&w.campaigns[0]).unwrap();
    assert_eq!(t.credentialed, 1);
    assert!(t.by_registrar[0].retired);
}

#[test]
fn claims_prove_the_pseudonym_for_one_challenge_only() {
    let w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let pk = w.bbs_sk.public_key();
    let (d, _) = declare(&w, &cred, 0, NONE, "A");
    let (nym, proof) = credentials::claim_proof(
        &cred,
        &pk,
        w.campaigns[0],
        "asylum office 2026-12-01 #4471",
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(nym, d.pseudonym);
    let ok = credentials::verify_claim(
        &pk.to_bytes(),
        &w.campaigns[0],
        "asylum office 2026-12-01 #4471",
        &w.rid,
        month(1),
        &nym,
        &proof,
    );
    assert!(ok.is_ok());
    let wrong = credentials::verify_claim(
        &pk.to_bytes(),
        &w.campaigns[0],
        "another challenge",
        &w.rid,
        month(1),
        &nym,
        &proof,
    );
    assert_eq!(wrong.unwrap_err().code(), "invalid_proof");
    // Someone else's credential cannot claim this pseudonym.
    let (other, oproof) = credentials::claim_proof(
        &credential(&w, 1),
        &pk,
        w.campaigns[0],
        "asylum office 2026-12-01 #4471",
        &mut OsRng,
    )
    .unwrap();
    assert_ne!(other, d.pseudonym);
    let stolen = credentials::verify_claim(
        &pk.to_bytes(),
        &w.campaigns[0],
        "asylum office 2026-12-01 #4471",
        &w.rid,
        month(1),
        &d.pseudonym,
        &oproof,
    );
    assert_eq!(stolen.unwrap_err().code(), "invalid_proof");
}

#[test]
fn registrars_with_invalid_bbs_keys_are_rejected() {
    let w = world(&[]);
    let (_, rb) = testkit::registrar(&test_key(9), [7; 96], "Bad key");
    let err = w
        .state
        .validate_leaf(&at(OPEN + 60, &rb), &BbsCredentials)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_key");
}

#[test]
fn an_operator_cannot_replay_a_declaration_after_its_withdrawal() {
    let mut w = world(&[(1, 100)]);
    let cred = credential(&w, 1);
    let (_, d) = declare(&w, &cred, 0, NONE, "A");
    push(&mut w, &d).unwrap();
    let wd = withdraw(&w, &cred, h(&d));
    push(&mut w, &wd).unwrap();
    assert_eq!(push(&mut w, &d).unwrap_err().code(), "duplicate_entry");
    let (_, d2) = declare(&w, &cred, 0, h(&wd), "A again");
    push(&mut w, &d2).unwrap();
    assert_eq!(push(&mut w, &wd).unwrap_err().code(), "duplicate_entry");
    let (_, vb) = testkit::vouched(&w.reg_key, w.rid, w.campaigns[0], [1; 32], "V");
    push(&mut w, &vb).unwrap();
    assert_eq!(push(&mut w, &vb).unwrap_err().code(), "duplicate_entry");
    assert_eq!(w.state.tally(&w.campaigns[0]).unwrap().credible, 2);
}

#[test]
fn batch_verification_gives_each_entry_its_own_verdict() {
    use headcount_core::{CredentialVerifier, NoCredentials, ProofToVerify};
    let w = world(&[(1, 100)]);
    let creds: Vec<bbs::Credential> = (0..3).map(|_| credential(&w, 1)).collect();
    let mut entries: Vec<(Entry, &str)> = Vec::new();
    for (i, c) in creds.iter().enumerate() {
        let (d, _) = declare(&w, c, i % 2, NONE, "Valid");
        entries.push((Entry::Declaration(d.clone()), "ok"));
        let mut moved = d.clone();
        moved.campaign = w.campaigns[(i + 1) % 2];
        entries.push((Entry::Declaration(moved), "invalid_proof"));
        let mut flipped = d.clone();
        flipped.proof[10] ^= 1;
        entries.push((Entry::Declaration(flipped), "invalid_proof"));
        let mut unknown = d;
        unknown.registrar = RegistrarId([9; 32]);
        entries.push((Entry::Declaration(unknown), "unknown_registrar"));
    }
    // A signed entry (no proof) in the same batch.
    let (e, _) = testkit::period(&w.reg_key, w.rid, month(2), 100);
    entries.push((e, "ok"));
    let with_hashes: Vec<(&Entry, EntryHash)> =
        entries.iter().map(|(e, _)| (e, e.hash())).collect();
    let batch = w.state.verify_crypto_batch(&with_hashes, &BbsCredentials);
    for (((e, want), (_, h)), got) in entries.iter().zip(&with_hashes).zip(&batch) {
        let single = w.state.verify_crypto(e, *h, &BbsCredentials);
        assert_eq!(got, &single, "batch and single verdicts differ");
        match got {
            Ok(_) => assert_eq!(*want, "ok"),
            Err(r) => assert_eq!(r.code(), *want),
        }
    }
    // The trait's default (a loop) agrees with the batch implementation.
    let p = entries[0].0.presentation().unwrap();
    let key = w.bbs_sk.public_key().to_bytes();
    let item = ProofToVerify {
        bbs_key: &key,
        campaign: p.campaign,
        header: &p.header,
        registrar: p.registrar,
        period: p.period,
        pseudonym: p.pseudonym,
        proof: p.proof,
    };
    assert_eq!(BbsCredentials.verify_batch(&[item]), vec![Ok(())]);
    assert_eq!(
        NoCredentials.verify_batch(&[item])[0]
            .as_ref()
            .unwrap_err()
            .code(),
        "unsupported_entry"
    );
}
