//! Auditors' attestations (their own recomputation, signed by them). The
//! operator's signed tally notes are per campaign: `read::tally_note`.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::StatusCode;
use headcount_core::notes::CountsNote;
use headcount_tlog::{TreeSize, tree_root};
use serde::Serialize;

use super::ApiError;
use crate::derived::AttestationRow;
use crate::log::{Log, unix_now};

/// `GET /v1/attestations`
pub async fn attestations(
    State(log): State<Arc<Log>>,
) -> Result<Json<Vec<AttestationRow>>, ApiError> {
    super::read::blocking(move || {
        log.read_blocking(|db| db.attestations(500))
            .map(Json)
            .map_err(ApiError::internal)
    })
    .await
}

#[derive(Serialize)]
pub struct Accepted {
    auditor: String,
    tree_size: u64,
    verdict: String,
}

/// `POST /v1/attestations`: a signed attestation note from an auditor this
/// log lists. It must be about this log, at a tree size the log has, with
/// the root the log has at that size.
pub async fn add_attestation(
    State(log): State<Arc<Log>>,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let bytes = to_bytes(body, 256 * 1024).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "an attestation is at most 256 KiB",
        )
    })?;
    let auditors = log
        .auditors
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut found = None;
    for vkey in &auditors {
        let Ok(v) = signed_note::StandardVerifier::new(vkey) else {
            continue;
        };
        let list = signed_note::VerifierList::new(vec![Box::new(v.clone())]);
        if let Ok(note) = signed_note::Note::from_bytes(&bytes)
            && note.verify(&list).is_ok()
        {
            found = Some((
                signed_note::Verifier::name(&v).to_owned(),
                note.text().to_vec(),
            ));
            break;
        }
    }
    let Some((auditor, text)) = found else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_auditor",
            "not signed by an auditor this log lists",
        ));
    };
    let text = String::from_utf8(text)
        .map_err(|_| ApiError::bad_request("bad_attestation", "not UTF-8"))?;
    let note = CountsNote::parse(&text)
        .map_err(|e| ApiError::bad_request("bad_attestation", e.to_string()))?;
    let Some(verdict) = note.verdict.clone() else {
        return Err(ApiError::bad_request(
            "bad_attestation",
            "a tally note is not an attestation",
        ));
    };
    if note.origin != log.origin() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_log",
            "the attestation is about another log",
        ));
    }
    if note.tree_size == 0 || note.tree_size > log.committed().size {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_tree_size",
            "this log has no such tree size",
        ));
    }
    use base64::Engine;
    let root = tree_root(log.tiles(), TreeSize(note.tree_size)).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_tree_size",
            "no checkpoint at this size",
        )
    })?;
    if base64::engine::general_purpose::STANDARD.encode(root.0) != note.root {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "root_mismatch",
            "the attested root is not this log's root at that size",
        ));
    }
    let received = unix_now() - unix_now() % 60;
    log.with_db_mut(|db| db.add_attestation(&auditor, note.tree_size, &verdict, received, &bytes))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(Accepted {
            auditor,
            tree_size: note.tree_size,
            verdict,
        }),
    ))
}
