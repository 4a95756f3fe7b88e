//! The offline flow and the ledger, over real files and a real wallet.

mod common;

use std::fs;

use common::{Reg, check_credential, last_month, now, registrar, wallet};
use headcount_core::{
    BbsCredentials, Entry, Leaf, LogState, Period, RegistrarId, Rejection, Timestamp,
};
use headcount_credentials::REQUEST_LEN;
use headcount_registrar::{CredentialRequest, CredentialResponse, Error, Ledger, Status};
use headcount_wallet::PendingIssuance;
use serde_json::json;

fn request_json(reg: &RegistrarId, request_hex: &str) -> Vec<u8> {
    json!({"version": 2, "registrar": reg.to_hex(), "request": request_hex})
        .to_string()
        .into_bytes()
}

/// A fresh, valid request from a throwaway nym secret.
fn fresh_request(reg: &Reg, period: Option<Period>) -> CredentialRequest {
    let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
    let (req, _state) =
        headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
    CredentialRequest::new(reg.id, period, req)
}

fn issued_files(dir: &std::path::Path) -> usize {
    fs::read_dir(dir.join("issued")).unwrap().count()
}

#[test]
fn offline_flow_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut w = wallet(tmp.path());
    let mut ledger = Ledger::open(tmp.path().join("state")).unwrap();
    let month = ledger.current_period();
    assert_eq!(month, Period::containing(now()));

    // Declarant: `headcount credential request` → file.
    let req = w.start_issuance(reg.id.0, None).unwrap();
    w.save().unwrap();
    let request_file = tmp.path().join("request.json");
    fs::write(
        &request_file,
        CredentialRequest::new(reg.id, None, req.clone()).to_json(),
    )
    .unwrap();

    // Registrar: `headcount registrar issue` → file. It issues into the current month.
    let parsed = CredentialRequest::from_json(&fs::read(&request_file).unwrap()).unwrap();
    assert_eq!(parsed.request_id(), PendingIssuance::request_id_of(&req));
    let response = ledger.issue(&reg.secret, reg.id, &parsed).unwrap();
    assert_eq!(response.period, month);
    let response_file = tmp.path().join("response.json");
    fs::write(&response_file, response.to_json()).unwrap();
    assert_eq!(ledger.period(month).issued, 1);
    assert!(!ledger.period(month).closed);

    // Declarant: `headcount credential finish`.
    let resp = CredentialResponse::from_json(&fs::read(&response_file).unwrap()).unwrap();
    assert_eq!(resp, response);
    assert_eq!(resp.request_id, PendingIssuance::request_id_of(&req));
    let stored = w
        .finish_issuance(
            &resp.request_id,
            &reg.pk,
            &resp.blind_signature,
            &resp.attributes(),
            now(),
        )
        .unwrap()
        .clone();
    w.save().unwrap();
    check_credential(&stored, &reg, month);
    assert!(w.pending_issuances().is_empty());
}

#[test]
fn replay_gets_the_same_response_not_a_second_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let mut ledger = Ledger::open(&dir).unwrap();
    let month = ledger.current_period();
    let req = fresh_request(&reg, None);
    let a = ledger.issue(&reg.secret, reg.id, &req).unwrap();
    let b = ledger.issue(&reg.secret, reg.id, &req).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(ledger.period(month).issued, 1);
    drop(ledger);
    // Also after a restart.
    let mut ledger = Ledger::open(&dir).unwrap();
    let c = ledger.issue(&reg.secret, reg.id, &req).unwrap();
    assert_eq!(a, c);
    assert_eq!(ledger.period(month).issued, 1);
    assert_eq!(issued_files(&dir), 1);
}

#[test]
fn a_month_closes_once_it_is_over_and_close_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    let (last, offset) = last_month();

    // Last month, while it is the current month.
    ledger.set_clock_offset(offset);
    assert_eq!(ledger.current_period(), last);
    let e = ledger.close_period(last).unwrap_err();
    assert!(matches!(e, Error::PeriodNotOver(p) if p == last), "{e}");
    assert_eq!((e.code(), e.status()), ("period_not_over", 409));
    let before = Period(last.0 - 1);
    assert!(matches!(ledger.close_period(before), Err(Error::EmptyPeriod(p)) if p == before));
    for _ in 0..3 {
        let r = ledger
            .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
            .unwrap();
        assert_eq!(r.period, last);
    }
    // Still not over: credentials are still being issued into it.
    assert!(matches!(
        ledger.close_period(last),
        Err(Error::PeriodNotOver(_))
    ));
    assert!(ledger.periods_to_close().is_empty());

    // The month ends.
    ledger.set_clock_offset(0);
    let month = ledger.current_period();
    assert_eq!(month, last.next());
    assert_eq!(ledger.periods_to_close(), [last]);
    assert!(matches!(
        ledger.close_period(month),
        Err(Error::PeriodNotOver(p)) if p == month
    ));
    assert_eq!(ledger.closed_period(last), None);
    assert_eq!(ledger.close_period(last).unwrap(), 3);
    // Closing again returns the same size.
    assert_eq!(ledger.close_period(last).unwrap(), 3);
    assert_eq!(ledger.closed_period(last), Some(3));
    assert!(ledger.periods_to_close().is_empty());
    assert!(ledger.period(last).closed);

    // Nothing more goes into the closed month: asked for by name, it is not the current
    // month; and a clock set back into it finds it closed.
    let e = ledger
        .issue(&reg.secret, reg.id, &fresh_request(&reg, Some(last)))
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("period_mismatch", 409));
    ledger.set_clock_offset(offset);
    let e = ledger
        .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
        .unwrap_err();
    assert_eq!((e.code(), e.status()), ("period_closed", 409));
    assert_eq!(ledger.period(last).issued, 3);
    ledger.set_clock_offset(0);

    // The current month issues normally.
    let r = ledger
        .issue(&reg.secret, reg.id, &fresh_request(&reg, Some(month)))
        .unwrap();
    assert_eq!(r.period, month);
    assert_eq!(ledger.period(month).issued, 1);
    assert_eq!(ledger.closed_period(month), None);
}

#[test]
fn wrong_registrar_and_another_month_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let other = registrar(6);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    let month = ledger.current_period();
    let e = ledger
        .issue(&reg.secret, reg.id, &fresh_request(&other, None))
        .unwrap_err();
    assert_eq!(e.code(), "wrong_registrar");
    // A registrar cannot be asked for (nor pick) a month other than the current one.
    for wrong in [month.next(), Period(month.0 - 1), Period(0)] {
        let e = ledger
            .issue(&reg.secret, reg.id, &fresh_request(&reg, Some(wrong)))
            .unwrap_err();
        assert!(
            matches!(e, Error::PeriodMismatch { requested, current }
                if requested == wrong && current == month),
            "{e}"
        );
        assert_eq!((e.code(), e.status()), ("period_mismatch", 409));
        let e = ledger
            .enqueue(reg.id, &fresh_request(&reg, Some(wrong)))
            .unwrap_err();
        assert_eq!(e.code(), "period_mismatch");
    }
    assert_eq!(ledger.period(month).issued, 0);
    assert!(ledger.periods().is_empty());
    assert!(ledger.pending().is_empty());
    assert_eq!(ledger.registrar(), None);

    // Once bound to a registrar, the state directory refuses to issue for another.
    ledger
        .issue(&reg.secret, reg.id, &fresh_request(&reg, Some(month)))
        .unwrap();
    let e = ledger
        .issue(&other.secret, other.id, &fresh_request(&other, None))
        .unwrap_err();
    assert_eq!(e.code(), "ledger_registrar_mismatch");
}

#[test]
fn malformed_requests_refused_with_clear_codes_and_no_state_change() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let mut ledger = Ledger::open(&dir).unwrap();
    let good = fresh_request(&reg, None);
    let good_hex = hex::encode(good.request.to_bytes());

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "invalid_json"),
        (
            request_json(&reg.id, &"zz".repeat(REQUEST_LEN)),
            "invalid_hex",
        ),
        (
            request_json(&reg.id, &good_hex[..good_hex.len() - 2]),
            "invalid_length",
        ),
        (request_json(&reg.id, ""), "invalid_length"),
        (
            request_json(&reg.id, &format!("{good_hex}00")),
            "invalid_length",
        ),
        (
            request_json(&reg.id, &"00".repeat(REQUEST_LEN)),
            "invalid_commitment",
        ),
        (
            json!({"version": 1, "registrar": reg.id.to_hex(), "request": good_hex})
                .to_string()
                .into_bytes(),
            "unsupported_version",
        ),
        (
            json!({"version": 2, "registrar": reg.id.to_hex(), "request": good_hex, "ip": "1.2.3.4"})
                .to_string()
                .into_bytes(),
            "invalid_json",
        ),
        (
            json!({"version": 2, "registrar": reg.id.to_hex(), "period": "2026-01", "request": good_hex})
                .to_string()
                .into_bytes(),
            "invalid_json",
        ),
        (
            json!({"version": 2, "registrar": reg.id.to_hex(), "batch": 1, "request": good_hex})
                .to_string()
                .into_bytes(),
            "invalid_json",
        ),
        (
            json!({"version": 2, "registrar": "abcd", "request": good_hex})
                .to_string()
                .into_bytes(),
            "invalid_length",
        ),
        (vec![b' '; 5000], "payload_too_large"),
    ];
    for (body, code) in cases {
        let e = CredentialRequest::from_json(&body).unwrap_err();
        assert_eq!(e.code(), code, "{e}");
        assert!(e.status() >= 400 && e.status() < 500);
    }

    // Well-formed encoding, wrong proof: the commitment proof is checked when signing.
    let mut bytes = good.request.to_bytes();
    bytes[REQUEST_LEN - 1] ^= 1; // the challenge scalar's low byte
    let tampered = request_json(&reg.id, &hex::encode(bytes));
    let req = CredentialRequest::from_json(&tampered).unwrap();
    let e = ledger.issue(&reg.secret, reg.id, &req).unwrap_err();
    assert_eq!(e.code(), "invalid_commitment", "{e}");
    assert_eq!(e.status(), 422);

    assert_eq!(ledger.period(ledger.current_period()).issued, 0);
    assert!(ledger.periods().is_empty());
    assert_eq!(issued_files(&dir), 0);
}

#[test]
fn restart_keeps_counts_and_queue_and_the_lock_is_exclusive() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let mut ledger = Ledger::open(&dir).unwrap();
    assert!(matches!(Ledger::open(&dir), Err(Error::Locked(_))));
    let (last, offset) = last_month();

    ledger.set_clock_offset(offset);
    for _ in 0..2 {
        ledger
            .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
            .unwrap();
    }
    ledger.set_clock_offset(0);
    let month = ledger.current_period();
    ledger.close_period(last).unwrap();
    ledger
        .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
        .unwrap();
    let pending = fresh_request(&reg, None);
    let rejected = fresh_request(&reg, Some(month));
    ledger.enqueue(reg.id, &pending).unwrap();
    ledger.enqueue(reg.id, &rejected).unwrap();
    ledger
        .reject(&rejected.request_id(), "could not check in person")
        .unwrap();
    let before = ledger.periods();
    // A stale temporary file from a crash mid-write is cleaned up.
    fs::write(dir.join("queue/.x.json.0011223344556677.tmp"), b"partial").unwrap();
    drop(ledger);

    let mut ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.periods(), before);
    assert_eq!(
        before
            .iter()
            .map(|p| (p.period, p.issued, p.closed))
            .collect::<Vec<_>>(),
        [(last, 2, true), (month, 1, false)]
    );
    assert_eq!(ledger.period(last).issued, 2);
    assert!(ledger.period(last).closed);
    assert_eq!(ledger.closed_period(last), Some(2));
    assert_eq!(ledger.period(month).issued, 1);
    assert_eq!(ledger.current_period(), month);
    assert!(ledger.periods_to_close().is_empty());
    assert_eq!(ledger.registrar(), Some(reg.id));
    let list = ledger.pending();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].request_id, hex::encode(pending.request_id()));
    assert_eq!(list[0].received % 60, 0);
    assert_eq!(list[0].period, None);
    assert_eq!(
        ledger.status(&rejected.request_id()),
        Some(Status::Rejected {
            reason: "could not check in person".into()
        })
    );
    assert!(!dir.join("queue/.x.json.0011223344556677.tmp").exists());

    // Approving the queued request after the restart issues into the current month.
    let r = ledger
        .approve(&reg.secret, reg.id, &pending.request_id())
        .unwrap();
    assert_eq!(r.period, month);
    assert!(ledger.pending().is_empty());
    assert_eq!(ledger.period(month).issued, 2);
    drop(ledger);
    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.period(month).issued, 2);
    assert!(matches!(
        ledger.status(&pending.request_id()),
        Some(Status::Approved { .. })
    ));
}

/// A closed month's logged size must equal the issued records kept for it: a lost (or
/// added) record, or an edited size, is refused at start-up.
#[test]
fn reopen_detects_a_closed_month_whose_count_disagrees() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let (last, offset) = last_month();
    let mut ledger = Ledger::open(&dir).unwrap();
    ledger.set_clock_offset(offset);
    for _ in 0..3 {
        ledger
            .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
            .unwrap();
    }
    ledger.set_clock_offset(0);
    assert_eq!(ledger.close_period(last).unwrap(), 3);
    drop(ledger);
    Ledger::open(&dir).unwrap();

    // An edited size.
    let ledger_file = dir.join("ledger.json");
    let good = fs::read(&ledger_file).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let closed = v["closed"].as_object_mut().unwrap();
    assert_eq!(closed.len(), 1);
    *closed.values_mut().next().unwrap() = json!(4);
    fs::write(&ledger_file, v.to_string()).unwrap();
    let e = Ledger::open(&dir).unwrap_err();
    assert!(
        matches!(&e, Error::Corrupt(m) if m.contains(&last.to_string())),
        "{e}"
    );
    fs::write(&ledger_file, &good).unwrap();
    Ledger::open(&dir).unwrap();

    // A lost issued record.
    let record = fs::read_dir(dir.join("issued"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saved = fs::read(&record).unwrap();
    fs::remove_file(&record).unwrap();
    let e = Ledger::open(&dir).unwrap_err();
    assert!(
        matches!(&e, Error::Corrupt(m) if m.contains(&last.to_string())),
        "{e}"
    );
    fs::write(&record, &saved).unwrap();
    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.period(last).issued, 3);
}

#[test]
fn issuance_period_entry_verifies_in_the_core() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    let (last, offset) = last_month();
    ledger.set_clock_offset(offset);
    for _ in 0..3 {
        ledger
            .issue(&reg.secret, reg.id, &fresh_request(&reg, None))
            .unwrap();
    }
    let e = ledger
        .issuance_period_entry(&reg.signing, reg.id, last)
        .unwrap_err();
    assert_eq!(e.code(), "period_not_closed");
    assert_eq!(
        ledger.close_period(last).unwrap_err().code(),
        "period_not_over"
    );
    ledger.set_clock_offset(0);
    let size = ledger.close_period(last).unwrap();
    let (entry, bytes) = ledger
        .issuance_period_entry(&reg.signing, reg.id, last)
        .unwrap();

    let decoded = Entry::decode(&bytes).unwrap();
    assert_eq!(decoded, entry);
    let Entry::IssuancePeriod(b) = &decoded else {
        panic!("not an issuance-period entry")
    };
    assert_eq!((b.registrar, b.period, b.size), (reg.id, last, size));
    assert_eq!(size, 3);

    let ts = Timestamp::coarse(now());
    let mut state = LogState::new();
    state
        .push(
            &Leaf {
                timestamp: Timestamp(last.start()),
                entry: reg.entry.clone(),
            },
            &BbsCredentials,
        )
        .unwrap();
    // Signed by another key: refused.
    let (_, forged) = ledger
        .issuance_period_entry(&headcount_core::testkit::test_key(99), reg.id, last)
        .unwrap();
    assert!(
        state
            .clone()
            .push(
                &Leaf {
                    timestamp: ts,
                    entry: forged
                },
                &BbsCredentials
            )
            .is_err()
    );
    // Logged before the month is over: refused.
    let early = state.clone().push(
        &Leaf {
            timestamp: Timestamp(last.end() - 60),
            entry: bytes.clone(),
        },
        &BbsCredentials,
    );
    assert!(
        matches!(early, Err(Rejection::PeriodNotOver(p)) if p == last),
        "{early:?}"
    );
    state
        .push(
            &Leaf {
                timestamp: ts,
                entry: bytes,
            },
            &BbsCredentials,
        )
        .unwrap();
    assert_eq!(state.period_size(&reg.id, last), Some(3));
}
