//! `POST /v1/entries`: the body is one encoded entry (`application/octet-stream`).
//! Answers only once the entry is in a signed checkpoint, with its receipt.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::StatusCode;

use super::{ApiError, MAX_BODY};
use crate::log::{Log, Receipt};

pub async fn submit(State(log): State<Arc<Log>>, body: Body) -> Result<Json<Receipt>, ApiError> {
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("an entry is at most {MAX_BODY} bytes"),
        )
    })?;
    let receipt = log.submit(bytes.to_vec()).await?;
    Ok(Json(receipt))
}
