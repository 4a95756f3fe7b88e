//! The C2SP tlog-tiles read API: `/checkpoint`, `/tile/<L>/<N>[.p/<W>]`,
//! `/tile/entries/<N>[.p/<W>]`, with the spec's content types and caching.
//! Only tiles within the current checkpoint are served: a tile written by a
//! round that has not committed yet does not exist for readers.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use headcount_tlog::TileId;

use super::ApiError;
use crate::log::Log;

pub async fn checkpoint(State(log): State<Arc<Log>>) -> Response {
    let note = log.published().note;
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=2, must-revalidate"),
            ),
        ],
        note.as_ref().clone(),
    )
        .into_response()
}

/// Whether the tile lies within a tree of `size` leaves.
fn within(id: &TileId, size: u64) -> bool {
    let level = id.level.map_or(0, u32::from);
    let Some(span) = 256u64.checked_pow(level) else {
        return false;
    };
    let Some(start) = id.index.checked_mul(span.saturating_mul(256)) else {
        return false;
    };
    start
        .checked_add(u64::from(id.width).saturating_mul(span))
        .is_some_and(|end| end <= size)
}

pub async fn tile(
    State(log): State<Arc<Log>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let id = TileId::parse_path(&format!("tile/{path}"))
        .map_err(|_| ApiError::bad_request("bad_tile_path", "not a tlog-tiles path"))?;
    if !within(&id, log.committed().size) {
        return Err(ApiError::not_found("no such tile in the current tree"));
    }
    let data = tokio::task::spawn_blocking(move || log.tiles().read_tile(id))
        .await
        .map_err(ApiError::internal)?
        .map_err(|_| ApiError::not_found("no such tile"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        data,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_within_a_tree() {
        let t = |level, index, width| TileId {
            level,
            index,
            width,
        };
        assert!(within(&t(Some(0), 0, 256), 256));
        assert!(!within(&t(Some(0), 0, 256), 255));
        assert!(within(&t(Some(0), 0, 255), 255));
        assert!(within(&t(None, 1, 10), 266));
        assert!(!within(&t(None, 1, 11), 266));
        assert!(within(&t(Some(1), 0, 1), 256));
        assert!(!within(&t(Some(1), 0, 2), 511));
        assert!(!within(&t(Some(63), u64::MAX, 256), u64::MAX));
    }
}
