//! The HTTP API (axum): one module per group of routes, one error type that
//! maps every failure to a status and a stable JSON code and never leaks
//! internals. No handler reads or logs the peer address or user agent.

mod notes;
mod read;
mod static_tree;
mod submit;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use headcount_core::Rejection;
use serde::Serialize;

use crate::log::{Log, SubmitError};

/// Largest request body accepted by `POST /v1/entries`: a leaf must fit a
/// bundle slot, so no valid entry is larger.
pub const MAX_BODY: usize = headcount_core::entry::MAX_ENTRY_LEN;

/// `GET /metrics` alone, for a separate (private) listener, or merged into
/// [`router`] where the operator chooses to publish the counters.
pub fn metrics_router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(log)
}

/// The router of a log server (without `/metrics`: see [`metrics_router`]).
pub fn router(log: Arc<Log>) -> Router {
    Router::new()
        .route("/v1/entries", post(submit::submit))
        .route("/v1/entries/async", post(submit::submit_async))
        .route("/v1/entries/{hash}", get(read::entry_receipt))
        .route("/v1/log", get(read::log_info))
        .route("/v1/campaigns", get(read::campaigns))
        .route("/v1/campaigns/{id}", get(read::campaign))
        .route("/v1/campaigns/{id}/tally", get(read::tally))
        .route("/v1/campaigns/{id}/tallies", get(read::tally_history))
        .route("/v1/campaigns/{id}/tally-note", get(read::tally_note))
        .route("/v1/campaigns/{id}/declarations", get(read::declarations))
        .route("/v1/registrars", get(read::registrars))
        .route("/v1/registrars/{id}", get(read::registrar))
        .route("/v1/proof/inclusion", get(read::inclusion))
        .route("/v1/proof/consistency", get(read::consistency))
        .route(
            "/v1/attestations",
            get(notes::attestations).post(notes::add_attestation),
        )
        .route("/checkpoint", get(static_tree::checkpoint))
        .route("/policy", get(read::witness_policy))
        .route("/tile/{*path}", get(static_tree::tile))
        .fallback(|| async { ApiError::not_found("no such resource") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&log),
            count_requests,
        ))
        .with_state(log)
}

/// Counts each request by its route template and status; nothing else.
async fn count_requests(
    axum::extract::State(log): axum::extract::State<Arc<Log>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    log.metrics.request(&route, resp.status().as_u16());
    resp
}

/// `GET /metrics`: Prometheus text.
async fn metrics(axum::extract::State(log): axum::extract::State<Arc<Log>>) -> Response {
    let body = log.metrics.render(log.committed().size, log.pool_len());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

/// An API error: status, stable code, human message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(ErrorBody {
                error: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = match r {
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, r.code(), r.to_string())
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Rejected(r) => r.into(),
            SubmitError::Admission(a) => ApiError::new(
                StatusCode::from_u16(a.status()).unwrap_or(StatusCode::FORBIDDEN),
                a.code(),
                a.to_string(),
            ),
            SubmitError::Overloaded => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the submission pool is full; retry",
                )
            },
            SubmitError::ShuttingDown => ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the log is shutting down; retry",
                )
            },
            SubmitError::Internal(m) => ApiError::internal(m),
        }
    }
}
