//! The offline flow and the ledger, over real files and a real wallet.

mod common;

use std::fs;

use common::{Reg, check_credential, registrar, wallet};
use headcount_core::{BbsCredentials, Entry, Leaf, LogState, RegistrarId, Timestamp};
use headcount_credentials::REQUEST_LEN;
use headcount_registrar::{CredentialRequest, CredentialResponse, Error, Ledger, Status};
use headcount_wallet::PendingIssuance;
use serde_json::json;

fn request_json(reg: &RegistrarId, request_hex: &str) -> Vec<u8> {
    json!({"version": 1, "registrar": reg.to_hex(), "request": request_hex})
        .to_string()
        .into_bytes()
}

/// A fresh, valid request from a throwaway nym secret.
fn fresh_request(reg: &Reg, batch: Option<u32>) -> CredentialRequest {
    let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
    let (req, _state) =
        headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
    CredentialRequest::new(reg.id, batch, req)
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

    // Declarant: `headcount credential request` → file.
    let req = w.start_issuance(reg.id.0, None).unwrap();
    w.save().unwrap();
    let request_file = tmp.path().join("request.json");
    fs::write(
        &request_file,
        CredentialRequest::new(reg.id, None, req.clone()).to_json(),
    )
    .unwrap();

    // Registrar: `headcount registrar issue` → file.
    let parsed = CredentialRequest::from_json(&fs::read(&request_file).unwrap()).unwrap();
    assert_eq!(parsed.request_id(), PendingIssuance::request_id_of(&req));
    let response = ledger.issue(&reg.secret, reg.id, 1, &parsed).unwrap();
    let response_file = tmp.path().join("response.json");
    fs::write(&response_file, response.to_json()).unwrap();
    assert_eq!(ledger.batch(1).issued, 1);

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
        )
        .unwrap()
        .clone();
    w.save().unwrap();
    check_credential(&stored, &reg, 1);
    assert!(w.pending_issuances().is_empty());
}

#[test]
fn replay_gets_the_same_response_not_a_second_credential() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let mut ledger = Ledger::open(&dir).unwrap();
    let req = fresh_request(&reg, None);
    let a = ledger.issue(&reg.secret, reg.id, 1, &req).unwrap();
    let b = ledger.issue(&reg.secret, reg.id, 1, &req).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(ledger.batch(1).issued, 1);
    drop(ledger);
    // Also after a restart.
    let mut ledger = Ledger::open(&dir).unwrap();
    let c = ledger.issue(&reg.secret, reg.id, 1, &req).unwrap();
    assert_eq!(a, c);
    assert_eq!(ledger.batch(1).issued, 1);
    assert_eq!(issued_files(&dir), 1);
}

#[test]
fn closed_batch_refuses_and_close_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    assert!(matches!(ledger.close_batch(1), Err(Error::EmptyBatch(1))));
    for _ in 0..3 {
        ledger
            .issue(&reg.secret, reg.id, 1, &fresh_request(&reg, None))
            .unwrap();
    }
    let (size, start, end) = ledger.close_batch(1).unwrap();
    assert_eq!(size, 3);
    assert!(start <= end && start % 60 == 0 && end % 60 == 0);
    assert_eq!(ledger.close_batch(1).unwrap(), (size, start, end));
    assert_eq!(ledger.current_batch(), 2);
    let e = ledger
        .issue(&reg.secret, reg.id, 1, &fresh_request(&reg, None))
        .unwrap_err();
    assert_eq!(e.code(), "batch_closed");
    assert_eq!(e.status(), 409);
    assert_eq!(ledger.batch(1).issued, 3);
    assert!(ledger.set_current_batch(1).is_err());
    // The next batch issues normally.
    let r = ledger
        .issue(&reg.secret, reg.id, 2, &fresh_request(&reg, None))
        .unwrap();
    assert_eq!(r.batch, 2);
}

#[test]
fn wrong_registrar_and_wrong_batch_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let other = registrar(6);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    let e = ledger
        .issue(&reg.secret, reg.id, 1, &fresh_request(&other, None))
        .unwrap_err();
    assert_eq!(e.code(), "wrong_registrar");
    let e = ledger
        .issue(&reg.secret, reg.id, 1, &fresh_request(&reg, Some(2)))
        .unwrap_err();
    assert_eq!(e.code(), "batch_mismatch");
    assert_eq!(ledger.batch(1).issued, 0);
    assert_eq!(ledger.registrar(), None);

    // Once bound to a registrar, the state directory refuses to issue for another.
    ledger
        .issue(&reg.secret, reg.id, 1, &fresh_request(&reg, Some(1)))
        .unwrap();
    let e = ledger
        .issue(&other.secret, other.id, 1, &fresh_request(&other, None))
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
            json!({"version": 2, "registrar": reg.id.to_hex(), "request": good_hex})
                .to_string()
                .into_bytes(),
            "unsupported_version",
        ),
        (
            json!({"version": 1, "registrar": reg.id.to_hex(), "request": good_hex, "ip": "1.2.3.4"})
                .to_string()
                .into_bytes(),
            "invalid_json",
        ),
        (
            json!({"version": 1, "registrar": "abcd", "request": good_hex})
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
    let e = ledger.issue(&reg.secret, reg.id, 1, &req).unwrap_err();
    assert_eq!(e.code(), "invalid_commitment", "{e}");
    assert_eq!(e.status(), 422);

    assert_eq!(ledger.batch(1).issued, 0);
    assert!(ledger.batches().is_empty());
    assert_eq!(issued_files(&dir), 0);
}

#[test]
fn restart_keeps_counts_and_queue_and_the_lock_is_exclusive() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let dir = tmp.path().join("state");
    let mut ledger = Ledger::open(&dir).unwrap();
    assert!(matches!(Ledger::open(&dir), Err(Error::Locked(_))));

    for _ in 0..2 {
        ledger
            .issue(&reg.secret, reg.id, 1, &fresh_request(&reg, None))
            .unwrap();
    }
    ledger.close_batch(1).unwrap();
    ledger
        .issue(&reg.secret, reg.id, 2, &fresh_request(&reg, None))
        .unwrap();
    let pending = fresh_request(&reg, None);
    let rejected = fresh_request(&reg, None);
    ledger.enqueue(reg.id, &pending).unwrap();
    ledger.enqueue(reg.id, &rejected).unwrap();
    ledger
        .reject(&rejected.request_id(), "could not check in person")
        .unwrap();
    let before = ledger.batches();
    // A stale temporary file from a crash mid-write is cleaned up.
    fs::write(dir.join("queue/.x.json.0011223344556677.tmp"), b"partial").unwrap();
    drop(ledger);

    let mut ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.batches(), before);
    assert_eq!(ledger.batch(1).issued, 2);
    assert!(ledger.batch(1).closed);
    assert_eq!(ledger.batch(2).issued, 1);
    assert_eq!(ledger.current_batch(), 2);
    assert_eq!(ledger.registrar(), Some(reg.id));
    let list = ledger.pending();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].request_id, hex::encode(pending.request_id()));
    assert_eq!(list[0].received % 60, 0);
    assert_eq!(
        ledger.status(&rejected.request_id()),
        Some(Status::Rejected {
            reason: "could not check in person".into()
        })
    );
    assert!(!dir.join("queue/.x.json.0011223344556677.tmp").exists());

    // Approving the queued request after the restart issues into the current batch.
    let r = ledger
        .approve(&reg.secret, reg.id, &pending.request_id())
        .unwrap();
    assert_eq!(r.batch, 2);
    assert!(ledger.pending().is_empty());
    assert_eq!(ledger.batch(2).issued, 2);
    drop(ledger);
    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.batch(2).issued, 2);
    assert!(matches!(
        ledger.status(&pending.request_id()),
        Some(Status::Approved { .. })
    ));
}

#[test]
fn issuance_batch_entry_verifies_in_the_core() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registrar(5);
    let mut ledger = Ledger::open(tmp.path()).unwrap();
    for _ in 0..3 {
        ledger
            .issue(&reg.secret, reg.id, 4, &fresh_request(&reg, None))
            .unwrap();
    }
    let e = ledger
        .issuance_batch_entry(&reg.signing, reg.id, 4)
        .unwrap_err();
    assert_eq!(e.code(), "batch_not_closed");
    let (size, start, end) = ledger.close_batch(4).unwrap();
    let (entry, bytes) = ledger
        .issuance_batch_entry(&reg.signing, reg.id, 4)
        .unwrap();

    let decoded = Entry::decode(&bytes).unwrap();
    assert_eq!(decoded, entry);
    let Entry::IssuanceBatch(b) = &decoded else {
        panic!("not a batch entry")
    };
    assert_eq!(
        (b.registrar, b.batch, b.size, b.period_start, b.period_end),
        (reg.id, 4, size, start, end)
    );
    assert_eq!(size, 3);

    let ts = Timestamp(1_767_225_600);
    let mut state = LogState::new();
    state
        .push(
            &Leaf {
                timestamp: ts,
                entry: reg.entry.clone(),
            },
            &BbsCredentials,
        )
        .unwrap();
    // Signed by another key: refused.
    let (_, forged) = ledger
        .issuance_batch_entry(&headcount_core::testkit::test_key(99), reg.id, 4)
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
    state
        .push(
            &Leaf {
                timestamp: ts,
                entry: bytes,
            },
            &BbsCredentials,
        )
        .unwrap();
    assert_eq!(state.batch_size(&reg.id, 4), Some(3));
}
