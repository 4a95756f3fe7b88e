//! Following the log over HTTP: its checkpoint, then the tiles the mirror lacks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use headcount_tlog::TileId;

use crate::{Error, Mirror};

/// Largest checkpoint note read (the signed-note limit).
const MAX_NOTE: usize = 1_000_000;
/// Largest tile or entry bundle read: 256 entries of at most 65 535 bytes, with lengths.
const MAX_TILE: usize = 256 * (65_535 + 2);
/// Concurrent tile fetches.
const PARALLEL: usize = 8;

async fn get(client: &reqwest::Client, url: &str, limit: usize) -> Result<Vec<u8>, Error> {
    let fail = |message: String| Error::Fetch {
        url: url.to_owned(),
        message,
    };
    let mut r = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    if !r.status().is_success() {
        return Err(fail(format!("HTTP {}", r.status())));
    }
    let mut out = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?
    {
        if out.len() + chunk.len() > limit {
            return Err(fail(format!("larger than {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// One round: fetches the log's checkpoint and, if it is new, the tiles the mirror lacks,
/// then commits (verify, store, cosign). Returns the mirror checkpoint's size afterwards.
pub async fn follow_once(mirror: &Arc<Mirror>, client: &reqwest::Client) -> Result<u64, Error> {
    let base = mirror.config().log_url.clone();
    let note = get(client, &format!("{base}/checkpoint"), MAX_NOTE).await?;
    let Some(cp) = mirror.check_checkpoint(&note)? else {
        return Ok(mirror.size());
    };
    let m = Arc::clone(mirror);
    let needed = tokio::task::spawn_blocking(move || m.tiles_needed(cp.size))
        .await
        .map_err(|e| Error::Cosign(format!("task: {e}")))?;
    let mut fetched: HashMap<TileId, Vec<u8>> = HashMap::with_capacity(needed.len());
    let mut stream = futures::stream::iter(needed)
        .map(|id| {
            let url = format!("{base}/{}", id.path());
            async move { get(client, &url, MAX_TILE).await.map(|t| (id, t)) }
        })
        .buffer_unordered(PARALLEL);
    while let Some(r) = stream.next().await {
        let (id, t) = r?;
        fetched.insert(id, t);
    }
    let m = Arc::clone(mirror);
    let n = note.clone();
    let committed = tokio::task::spawn_blocking(move || m.commit(&n, &fetched))
        .await
        .map_err(|e| Error::Cosign(format!("task: {e}")))?;
    match committed {
        Ok(_) => Ok(mirror.size()),
        // The held tiles may be what does not fit: fetch the log's whole tree to tell a fork
        // (the log signed two branches) from bad tiles.
        Err(e @ Error::Tiles(_)) if mirror.size() > 0 => {
            let mut all: HashMap<TileId, Vec<u8>> = HashMap::new();
            let mut stream = futures::stream::iter(headcount_tlog::tiles_for_size(cp.size))
                .map(|id| {
                    let url = format!("{base}/{}", id.path());
                    async move { get(client, &url, MAX_TILE).await.map(|t| (id, t)) }
                })
                .buffer_unordered(PARALLEL);
            while let Some(r) = stream.next().await {
                let (id, t) = r?;
                all.insert(id, t);
            }
            let m = Arc::clone(mirror);
            tokio::task::spawn_blocking(move || m.classify_failure(&note, &all))
                .await
                .map_err(|e| Error::Cosign(format!("task: {e}")))??;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Follows the log every `interval` until `shutdown` resolves. A failed round (the log
/// unreachable, a checkpoint or tile that does not verify) is logged and retried next round;
/// the mirror keeps serving what it holds.
pub async fn follow(
    mirror: Arc<Mirror>,
    client: reqwest::Client,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        match follow_once(&mirror, &client).await {
            Ok(size) => tracing::debug!(size, "mirror up to date"),
            Err(e @ (Error::Inconsistent { .. } | Error::Behind { .. })) => {
                tracing::error!(error = %e, "the log misbehaved; keeping the mirrored tree")
            }
            Err(e) => tracing::warn!(error = %e, "mirror round failed; retrying"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
