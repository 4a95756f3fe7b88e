//! The headcount log server.
//!
//! * [`log`]: recovery, the pool, the sequencer, receipts (the write path);
//! * [`storage`]: the storage a log runs on, behind the `headcount_storage`
//!   traits; the default backend is a data directory:
//!   * [`tiles`]: the C2SP static tree on the filesystem;
//!   * [`fs`]: the checkpoint's compare-and-swap and the `flock` lease;
//!   * [`derived`] and [`sqlite`]: derived state in SQLite, rebuilt from the
//!     log, and its read model;
//! * [`durable`]: fsync-correct writes (from `headcount_storage`);
//! * [`api`]: the HTTP API.

#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
pub mod derived;
pub mod fs;
pub mod log;
pub mod metrics;
pub mod sqlite;
pub mod storage;
pub mod tiles;
pub mod verification;
pub mod witnessing;

use std::net::SocketAddr;
use std::sync::Arc;

pub use headcount_storage::durable;

pub use admission::{AdmissionError, AdmissionPolicy, Publishers};
pub use log::{EntryStatus, Log, Receipt, SequencerOptions, SubmitError};
pub use storage::Storage;
pub use verification::VerificationOptions;
pub use witnessing::WitnessingOptions;

/// Serves `log` on `listener` until `shutdown` resolves.
pub async fn serve(
    log: Arc<Log>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(log, listener, axum::Router::new(), shutdown).await
}

/// Serves only `GET /metrics` on `listener` (an operator's private address).
pub async fn serve_metrics(
    log: Arc<Log>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    axum::serve(listener, api::metrics_router(log)).await
}

/// Serves `log` with `extra` routes (e.g. the dashboard's) merged into the
/// API, on `listener` until `shutdown` resolves. `extra` must have no fallback.
pub async fn serve_with(
    log: Arc<Log>,
    listener: tokio::net::TcpListener,
    extra: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, origin = log.origin(), "serving");
    axum::serve(listener, api::router(log).merge(extra))
        .with_graceful_shutdown(shutdown)
        .await
}
