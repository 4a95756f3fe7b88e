//! The read API: the tlog-tiles interface of the mirrored log under `/<origin hash>/`.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headcount_tlog::TileId;
use tokio::net::TcpListener;

use crate::Mirror;

const TEXT: &str = "text/plain; charset=utf-8";

fn not_found(what: &'static str) -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, TEXT)], what).into_response()
}

async fn index(State(m): State<Arc<Mirror>>) -> Response {
    let text = format!(
        "headcount mirror {}\nvkey {}\nlog {}\nat /{}/ (tlog-tiles), tree size {}\n",
        m.config().name(),
        m.config().vkey(),
        m.config().origin(),
        m.origin_hash(),
        m.size()
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, TEXT)], text).into_response()
}

async fn checkpoint(State(m): State<Arc<Mirror>>, UrlPath(hash): UrlPath<String>) -> Response {
    if hash != m.origin_hash() {
        return not_found("no such log here\n");
    }
    match m.checkpoint_note() {
        Some(note) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, TEXT),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            note,
        )
            .into_response(),
        None => not_found("nothing mirrored yet\n"),
    }
}

async fn tile(
    State(m): State<Arc<Mirror>>,
    UrlPath((hash, rest)): UrlPath<(String, String)>,
) -> Response {
    if hash != m.origin_hash() {
        return not_found("no such log here\n");
    }
    let Ok(id) = TileId::parse_path(&format!("tile/{rest}")) else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, TEXT)],
            "malformed tile path\n",
        )
            .into_response();
    };
    let read = tokio::task::spawn_blocking(move || m.stored_tile(id)).await;
    match read {
        Ok(Ok(Some(bytes))) => {
            let cache = if id.is_full() {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=60"
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/octet-stream"),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(Ok(None)) => not_found("no such tile\n"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading a tile");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

/// The mirror's routes (monitoring prefix at the root): `GET /`, `GET /<origin
/// hash>/checkpoint`, `GET /<origin hash>/tile/…`.
pub fn router(mirror: Arc<Mirror>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/{hash}/checkpoint", get(checkpoint))
        .route("/{hash}/tile/{*rest}", get(tile))
        .with_state(mirror)
}

/// Serves the mirror on an already bound listener until `shutdown` resolves.
pub async fn serve_on(
    mirror: Arc<Mirror>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(mirror))
        .with_graceful_shutdown(shutdown)
        .await
}
