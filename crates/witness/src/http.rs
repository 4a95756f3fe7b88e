//! The HTTP face: `POST /add-checkpoint` and `GET /<origin hash>/checkpoint`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::io_err;
use crate::{AddError, Error, Witness, WitnessConfig};

/// Largest request body accepted (the size limit of a signed note in `signed_note`).
const MAX_BODY: usize = 1_000_000;

const TEXT: &str = "text/plain; charset=utf-8";

impl IntoResponse for AddError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            AddError::Conflict { latest_size } => (
                status,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{latest_size}\n"),
            )
                .into_response(),
            // Never leak internals (paths, OS errors) to clients; they are in the log.
            AddError::Internal(_) => {
                (status, [(header::CONTENT_TYPE, TEXT)], "internal error\n").into_response()
            }
            other => (status, [(header::CONTENT_TYPE, TEXT)], format!("{other}\n")).into_response(),
        }
    }
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    // Verification is cheap, but persisting fsyncs: run the whole thing off the async pool.
    match tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await {
        Ok(Ok(lines)) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], lines).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => AddError::Internal("task failed".into()).into_response(),
    }
}

async fn get_checkpoint(
    State(witness): State<Arc<Witness>>,
    UrlPath(origin_hash): UrlPath<String>,
) -> Response {
    match witness.latest_checkpoint(&origin_hash) {
        Some(note) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], note).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no checkpoint cosigned for this log\n",
        )
            .into_response(),
    }
}

/// The witness's routes, with the submission and monitoring prefixes both at the root. Nest
/// it (`Router::nest`) to serve it under a prefix.
pub fn router(state: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(get_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves `witness` on an already bound listener until `shutdown` resolves.
pub async fn serve_on(
    witness: Arc<Witness>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Opens the witness state in `state_dir` and serves it on `listen_addr` until Ctrl-C.
pub async fn serve(
    config: WitnessConfig,
    state_dir: impl AsRef<Path>,
    listen_addr: SocketAddr,
) -> Result<(), Error> {
    let witness = Arc::new(Witness::open(config, state_dir)?);
    let listener = TcpListener::bind(listen_addr)
        .await
        .map_err(io_err(format!("binding {listen_addr}")))?;
    tracing::info!(addr = %listen_addr, name = witness.name(), "witness listening");
    serve_on(witness, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(io_err("serving"))
}
