//! `POST /v1/entries`: the body is one encoded entry (`application/octet-stream`).
//! Answers only once the entry is in a signed checkpoint, with its receipt.
//!
//! `POST /v1/entries/async`: the same checks, then 202 with the entry hash at
//! once; the receipt is fetched later with `GET /v1/entries/{hash}`. A 202 is
//! not an acknowledgement: only a receipt is (a restart before the entry's
//! round forgets it; the submitter sends the same bytes again).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{ApiError, MAX_BODY};
use crate::log::{Log, Receipt};

/// The admission work nonce a submitter sent (`Err` when its header does not parse).
fn work_of(headers: &HeaderMap) -> Result<Option<u64>, ()> {
    match headers.get(crate::admission::WORK_HEADER) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Some)
            .ok_or(()),
    }
}

async fn body_bytes(body: Body) -> Result<Vec<u8>, ApiError> {
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("an entry is at most {MAX_BODY} bytes"),
        )
    })?;
    Ok(bytes.to_vec())
}

pub async fn submit(
    State(log): State<Arc<Log>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Receipt>, ApiError> {
    // Admission work on registrar and campaign entries (admission.rs).
    let receipt = log
        .submit_with_work(body_bytes(body).await?, work_of(&headers))
        .await?;
    Ok(Json(receipt))
}

/// The answer to an asynchronous submission, and to a look-up of an entry
/// still waiting for its round.
#[derive(serde::Serialize)]
pub struct Pending {
    pub entry_hash: headcount_core::EntryHash,
    /// Always `"pending"`.
    pub status: &'static str,
}

pub async fn submit_async(
    State(log): State<Arc<Log>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Pending>), ApiError> {
    let entry_hash = log
        .submit_async_with_work(body_bytes(body).await?, work_of(&headers))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Pending {
            entry_hash,
            status: "pending",
        }),
    ))
}
