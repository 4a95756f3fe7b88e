//! `POST /v1/entries`: the body is one encoded entry (`application/octet-stream`).
//! Answers only once the entry is in a signed checkpoint, with its receipt.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{ApiError, MAX_BODY};
use crate::log::{Log, Receipt};

pub async fn submit(
    State(log): State<Arc<Log>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Receipt>, ApiError> {
    // Admission work on registrar and campaign entries (admission.rs).
    let work = match headers.get(crate::admission::WORK_HEADER) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Some)
            .ok_or(()),
    };
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("an entry is at most {MAX_BODY} bytes"),
        )
    })?;
    let receipt = log.submit_with_work(bytes.to_vec(), work).await?;
    Ok(Json(receipt))
}
