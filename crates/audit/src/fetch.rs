//! Fetching a log over HTTP: the checkpoint, every tile and entry bundle
//! (bounded concurrency, retries), the on-disk cache of immutable full tiles,
//! and [`FetchedTiles`], a [`TileReader`] over what was fetched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use headcount_tlog::{
    Error as TlogError, HASH_SIZE, TILE_WIDTH, TileId, TileReader, TreeSize, tile_prefix,
    tiles_for_size,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;

use crate::AuditError;

/// Attempts per request before a transient failure (connection error, 5xx,
/// 429) becomes an [`AuditError`].
const ATTEMPTS: u32 = 4;

/// Counts of what a fetch did; a rerun over a warm cache fetches only the
/// partial tiles on the right edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Tiles and bundles the tree consists of.
    pub tiles: u64,
    /// Full tiles and bundles fetched over HTTP.
    pub fetched_full: u64,
    /// Partial tiles and bundles fetched over HTTP (never cached).
    pub fetched_partial: u64,
    /// Full tiles and bundles read from the cache.
    pub from_cache: u64,
    /// Tiles and bundles reused from the tree verified in an earlier round
    /// (monitor mode), neither fetched nor read from disk.
    pub reused: u64,
    /// Bytes received over HTTP for tiles and bundles.
    pub bytes_fetched: u64,
}

/// Every tile and entry bundle of one tree, in memory.
///
/// Implements [`TileReader`] for any tree size up to the fetched one: a
/// request for a narrower tile than the one held (an older tree's partial
/// tile) is answered with the first `width` hashes or entries of the held
/// one, since tiles only ever grow at the end.
///
/// Memory: 32 bytes per entry for level-0 hashes plus the entry bundles
/// themselves (a few hundred bytes per entry), so a few million entries fit
/// comfortably in RAM; logs of hundreds of millions of entries need a
/// streaming, disk-backed reader (not implemented yet).
#[derive(Clone, Debug, Default)]
pub struct FetchedTiles {
    size: u64,
    /// (level, index) → (width, bytes); level `None` is the entry bundles.
    tiles: HashMap<(Option<u8>, u64), (u16, Vec<u8>)>,
}

impl FetchedTiles {
    /// A tree from tiles obtained elsewhere (a file, an archive), for
    /// `size`. Nothing is checked here: verify them against the checkpoint
    /// root with [`headcount_tlog::verify_tiles`] before use.
    pub fn from_tiles(size: TreeSize, tiles: impl IntoIterator<Item = (TileId, Vec<u8>)>) -> Self {
        let mut t = FetchedTiles {
            size: size.0,
            ..FetchedTiles::default()
        };
        for (id, data) in tiles {
            t.insert(id, data);
        }
        t
    }

    /// The tree size the tiles were fetched for.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// The bytes of the tile exactly as fetched (no narrowing).
    pub fn get(&self, id: TileId) -> Option<&[u8]> {
        match self.tiles.get(&(id.level, id.index)) {
            Some((w, data)) if *w == id.width => Some(data),
            _ => None,
        }
    }

    /// Entry bundle `index` as fetched (it must have been checked against its
    /// level-0 tile, e.g. by [`headcount_tlog::verify_tiles`], before use).
    pub(crate) fn bundle(&self, index: u64) -> Option<&[u8]> {
        self.tiles.get(&(None, index)).map(|(_, d)| d.as_slice())
    }

    fn insert(&mut self, id: TileId, data: Vec<u8>) {
        self.tiles.insert((id.level, id.index), (id.width, data));
    }

    /// Takes the tile out if it is held at exactly this width.
    fn take(&mut self, id: TileId) -> Option<Vec<u8>> {
        match self.tiles.get(&(id.level, id.index)) {
            Some((w, _)) if *w == id.width => self.tiles.remove(&(id.level, id.index)).map(|t| t.1),
            _ => None,
        }
    }
}

impl TileReader for FetchedTiles {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        let Some((width, data)) = self.tiles.get(&(id.level, id.index)) else {
            return Err(TlogError::TileNotFound(id));
        };
        if id.width == *width {
            return Ok(data.clone());
        }
        if id.width > *width {
            return Err(TlogError::TileNotFound(id));
        }
        tile_prefix(id, data)
    }
}

/// An HTTP client bound to one log's base URL.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
}

/// Outcome of a GET that may legitimately be "not found".
/// Largest response body the auditor reads: a full tile or entry bundle is
/// at most 65 536 × 256 bytes in principle, far less in practice; a JSON
/// page of campaigns is well below this. A larger body is refused as it
/// streams, never buffered whole.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

pub(crate) enum Limited {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads a body, refusing one larger than `limit` bytes.
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Limited> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Limited::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Limited::Transport)? {
        if out.len() + chunk.len() > limit {
            return Err(Limited::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub(crate) enum Got<T> {
    Found(T),
    NotFound,
}

impl Http {
    pub(crate) fn new(base: &str) -> Result<Self, AuditError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| AuditError::Http {
                url: base.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// GET with retries of transient failures; 404 is [`Got::NotFound`].
    pub(crate) async fn get_bytes(&self, path: &str) -> Result<Got<Vec<u8>>, AuditError> {
        let url = self.url(path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transient = match self.client.get(&url).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status == reqwest::StatusCode::NOT_FOUND {
                        return Ok(Got::NotFound);
                    }
                    if status.is_success() {
                        match read_limited(resp, MAX_BODY).await {
                            Ok(b) => return Ok(Got::Found(b)),
                            Err(Limited::TooLarge) => {
                                return Err(AuditError::BadResponse {
                                    url,
                                    message: format!(
                                        "the response is larger than {MAX_BODY} bytes"
                                    ),
                                });
                            }
                            Err(Limited::Transport(e)) => e.to_string(),
                        }
                    } else if status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    {
                        format!("HTTP {status}")
                    } else {
                        let body = read_limited(resp, 4096).await.unwrap_or_default();
                        let body = String::from_utf8_lossy(&body).into_owned();
                        return Err(AuditError::Status {
                            url,
                            status: status.as_u16(),
                            body: body.chars().take(300).collect(),
                        });
                    }
                }
                Err(e) => e.to_string(),
            };
            if attempt >= ATTEMPTS {
                return Err(AuditError::Http {
                    url,
                    message: transient,
                });
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }

    /// GET that must succeed.
    pub(crate) async fn get_required(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        match self.get_bytes(path).await? {
            Got::Found(b) => Ok(b),
            Got::NotFound => Err(AuditError::Status {
                url: self.url(path),
                status: 404,
                body: String::new(),
            }),
        }
    }

    /// GET a tile. A partial tile the log no longer has (tlog-tiles lets it
    /// delete one once the full tile exists) is cut from the full tile, as
    /// the spec asks clients to do. The caller verifies the result against
    /// the checkpoint either way.
    pub(crate) async fn get_tile(&self, id: TileId) -> Result<Vec<u8>, AuditError> {
        let path = id.path();
        match self.get_bytes(&path).await? {
            Got::Found(b) => Ok(b),
            Got::NotFound if !id.is_full() => {
                let full = TileId {
                    width: TILE_WIDTH as u16,
                    ..id
                };
                let data = self.get_required(&full.path()).await?;
                tile_prefix(id, &data).map_err(|e| AuditError::BadResponse {
                    url: self.url(&full.path()),
                    message: e.to_string(),
                })
            }
            Got::NotFound => Err(AuditError::Status {
                url: self.url(&path),
                status: 404,
                body: String::new(),
            }),
        }
    }

    /// GET and parse JSON; 404 is [`Got::NotFound`].
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Got<T>, AuditError> {
        match self.get_bytes(path).await? {
            Got::NotFound => Ok(Got::NotFound),
            Got::Found(b) => {
                serde_json::from_slice(&b)
                    .map(Got::Found)
                    .map_err(|e| AuditError::BadResponse {
                        url: self.url(path),
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// The cache directory of one log: `<cache_dir>/<origin, made path-safe>/`.
pub(crate) fn log_cache_dir(cache_dir: &Path, origin: &str) -> PathBuf {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache_dir.join(safe)
}

/// Writes `data` to `path` via a temporary file and a rename, so an
/// interrupted run never leaves a truncated tile in the cache.
pub(crate) async fn write_cache(path: &Path, data: &[u8]) -> Result<(), AuditError> {
    let io = |e: std::io::Error| AuditError::Cache {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    tokio::fs::write(&tmp, data).await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)
}

/// Expected byte length of a hash tile, or `None` for a bundle.
fn expected_len(id: &TileId) -> Option<usize> {
    id.level.map(|_| usize::from(id.width) * HASH_SIZE)
}

/// Fetches every tile and bundle of the tree of `size`, `parallelism` at a
/// time. Full tiles come from `cache` when there (unless `use_cache` is
/// false) and are written to it after fetching. A cached file of the wrong
/// length for a hash tile is ignored and refetched. Tiles held in `have` (an
/// earlier, verified tree of the same log) at exactly the needed width are
/// reused as they are: tiles only grow at the end, so every full tile and
/// every unchanged partial one of the older tree is part of the newer one
/// (the caller verifies the whole new tree against its root anyway).
pub(crate) async fn fetch_tree(
    http: &Http,
    size: TreeSize,
    cache: Option<&Path>,
    use_cache: bool,
    have: Option<FetchedTiles>,
    parallelism: usize,
    progress: bool,
) -> Result<(FetchedTiles, FetchStats), AuditError> {
    let all = tiles_for_size(size);
    let mut tiles = FetchedTiles {
        size: size.0,
        tiles: HashMap::with_capacity(all.len()),
    };
    let mut reused = 0u64;
    let ids: Vec<TileId> = match have {
        Some(mut have) => all
            .iter()
            .copied()
            .filter(|id| match have.take(*id) {
                Some(data) => {
                    tiles.insert(*id, data);
                    reused += 1;
                    false
                }
                None => true,
            })
            .collect(),
        None => all.clone(),
    };
    let bar = if progress {
        let b = ProgressBar::new(ids.len() as u64);
        b.set_style(
            ProgressStyle::with_template("fetch  {bar:40} {pos}/{len} tiles {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let fetched_full = AtomicU64::new(0);
    let fetched_partial = AtomicU64::new(0);
    let from_cache = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let one = |id: TileId| {
        let (bar, fetched_full, fetched_partial, from_cache, bytes) =
            (&bar, &fetched_full, &fetched_partial, &from_cache, &bytes);
        async move {
            let cache_path = cache.filter(|_| id.is_full()).map(|c| c.join(id.path()));
            if use_cache
                && let Some(p) = &cache_path
                && let Ok(data) = tokio::fs::read(p).await
                && expected_len(&id).is_none_or(|n| n == data.len())
            {
                from_cache.fetch_add(1, Ordering::Relaxed);
                bar.inc(1);
                return Ok::<_, AuditError>((id, data));
            }
            let data = http.get_tile(id).await?;
            bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            if id.is_full() {
                fetched_full.fetch_add(1, Ordering::Relaxed);
            } else {
                fetched_partial.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(p) = &cache_path
                && expected_len(&id).is_none_or(|n| n == data.len())
            {
                write_cache(p, &data).await?;
            }
            bar.inc(1);
            Ok((id, data))
        }
    };
    let mut stream = futures::stream::iter(ids.iter().copied())
        .map(one)
        .buffer_unordered(parallelism.max(1));
    while let Some(r) = stream.next().await {
        let (id, data) = r?;
        tiles.insert(id, data);
    }
    drop(stream);
    bar.finish_and_clear();
    let stats = FetchStats {
        tiles: all.len() as u64,
        reused,
        fetched_full: fetched_full.into_inner(),
        fetched_partial: fetched_partial.into_inner(),
        from_cache: from_cache.into_inner(),
        bytes_fetched: bytes.into_inner(),
    };
    Ok((tiles, stats))
}

/// Number of entry bundles in a tree of `size`.
pub(crate) fn bundle_count(size: u64) -> u64 {
    size.div_ceil(TILE_WIDTH)
}
