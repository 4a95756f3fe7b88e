//! The C2SP static tree on the local filesystem.
//!
//! Layout under the data directory's `log/`: `checkpoint`, `tile/<L>/<N>[.p/<W>]`
//! and `tile/entries/<N>[.p/<W>]`, exactly the URL paths, so any static file
//! server (or a copy to an object store) serves the log as it is.
//!
//! Partial tiles are deleted once their full tile exists and a durable
//! checkpoint covers it ([`FsTiles::prune_partials`], after each round's
//! commit point; [`FsTiles::tidy`] at start-up for what a crash left), as
//! C2SP tlog-tiles allows: under a steady trickle of one or a few entries
//! per round they would otherwise be most of the directory. A reader still
//! on an older checkpoint asks for a partial tile that may be gone; it gets
//! the full tile's prefix (here in [`TileReader::read_tile`], which the HTTP
//! handler uses; a plain static file server answers 404 and the spec tells
//! clients to fetch the full tile, as the auditor does). The partial tiles of
//! the committed size, which recovery reads, are never deleted: their full
//! tile is not covered by a checkpoint yet.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use headcount_storage::StorageError;
use headcount_tlog::{Error as TlogError, TILE_WIDTH, TileId, TileReader, tile_prefix};

use crate::durable::{is_temporary, write_atomic};

/// Tiles and checkpoint in a directory, with the most recently written or
/// read hash tiles kept in memory: receipts of a round all read the same
/// right-edge tiles, which the sequencer has just written. Entry bundles
/// (up to 16 MiB each) are never cached.
#[derive(Clone, Debug)]
pub struct FsTiles {
    root: PathBuf,
    cache: Arc<Mutex<TileCache>>,
    keep_partials: bool,
}

pub use headcount_storage::Tidied;

/// A small FIFO cache of tile contents. Tiles are immutable once written at
/// a given (level, index, width), so cached contents never go stale.
#[derive(Debug, Default)]
struct TileCache {
    map: HashMap<TileId, Arc<Vec<u8>>>,
    order: VecDeque<TileId>,
}

/// Hash tiles kept in memory (at most 8 KiB each: at most 8 MiB).
const CACHED_TILES: usize = 1024;

impl TileCache {
    fn get(&self, id: &TileId) -> Option<Arc<Vec<u8>>> {
        self.map.get(id).cloned()
    }
    fn put(&mut self, id: TileId, data: Arc<Vec<u8>>) {
        if self.map.insert(id, data).is_none() {
            self.order.push_back(id);
            while self.order.len() > CACHED_TILES {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

impl FsTiles {
    /// The static tree rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsTiles {
            root: root.into(),
            cache: Arc::new(Mutex::new(TileCache::default())),
            keep_partials: false,
        }
    }

    /// Keeps every partial tile ever written (the behaviour before partial
    /// tiles were pruned; the storage benchmark's baseline).
    pub fn keeping_partials(mut self, keep: bool) -> Self {
        self.keep_partials = keep;
        self
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TileCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes one tile durably.
    pub fn write_tile(&self, id: TileId, data: &[u8]) -> io::Result<()> {
        write_atomic(&self.root.join(id.path()), data)?;
        // A tile rewritten after a crash (beyond the last checkpoint) replaces
        // what the cache may hold for the same coordinates.
        if id.level.is_some() {
            self.cache().put(id, Arc::new(data.to_vec()));
        }
        Ok(())
    }

    /// Writes the checkpoint durably: the commit point of a sequencing round.
    pub fn write_checkpoint(&self, note: &[u8]) -> io::Result<()> {
        write_atomic(&self.root.join("checkpoint"), note)
    }

    /// Deletes the partial tiles of each full tile in `written`. Call it only
    /// once those full tiles and a checkpoint covering them are durable (after
    /// the commit point). Deletion need not be durable: what a crash undoes,
    /// [`FsTiles::tidy`] removes at the next start. Partial tiles that are
    /// already gone are not an error.
    pub fn prune_partials(&self, written: impl IntoIterator<Item = TileId>) -> io::Result<u64> {
        if self.keep_partials {
            return Ok(0);
        }
        let mut removed = 0;
        for id in written.into_iter().filter(TileId::is_full) {
            match fs::remove_dir_all(self.root.join(partial_dir(id))) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Start-up housekeeping, for a log whose durable checkpoint has `size`
    /// leaves: removes the temporary files of writes a crash interrupted, and
    /// (unless partial tiles are kept) the partial tiles whose full tile
    /// exists within `size` — those a crash kept from being pruned, or that a
    /// version which kept partial tiles wrote. Call it with the sequencer's
    /// lock held, before the first round.
    pub fn tidy(&self, size: u64) -> io::Result<Tidied> {
        let mut t = Tidied::default();
        if let Ok(rd) = fs::read_dir(&self.root) {
            for e in rd {
                let e = e?;
                if e.file_type()?.is_file() && is_temporary(&e.file_name()) {
                    fs::remove_file(e.path())?;
                    t.temporaries += 1;
                }
            }
        }
        self.tidy_dir(&self.root.join("tile"), size, &mut t)?;
        Ok(t)
    }

    fn tidy_dir(&self, dir: &Path, size: u64, t: &mut Tidied) -> io::Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in rd {
            let e = e?;
            let path = e.path();
            if e.file_type()?.is_dir() {
                if !self.keep_partials
                    && let Some(full) = self.full_tile_of_partial_dir(&path)
                    && covered(&full, size)
                    && self.root.join(full.path()).is_file()
                {
                    fs::remove_dir_all(&path)?;
                    t.partial_dirs += 1;
                } else {
                    self.tidy_dir(&path, size, t)?;
                }
            } else if is_temporary(&e.file_name()) {
                fs::remove_file(&path)?;
                t.temporaries += 1;
            }
        }
        Ok(())
    }

    /// The full tile whose partial tiles `dir` (`tile/<L>/<N>.p`) holds.
    fn full_tile_of_partial_dir(&self, dir: &Path) -> Option<TileId> {
        let rel = dir.strip_prefix(&self.root).ok()?.to_str()?;
        if !rel.ends_with(".p") {
            return None;
        }
        let id = TileId::parse_path(&format!("{}/1", rel.replace('\\', "/"))).ok()?;
        Some(TileId {
            width: TILE_WIDTH as u16,
            ..id
        })
    }

    /// The current checkpoint, if the log has one.
    pub fn read_checkpoint(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.root.join("checkpoint")) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl headcount_storage::TileStore for FsTiles {
    fn write_tile(&self, id: TileId, data: &[u8]) -> Result<(), StorageError> {
        FsTiles::write_tile(self, id, data).map_err(|e| fs_error(&self.root, e))
    }

    fn write_checkpoint(&self, note: &[u8]) -> Result<(), StorageError> {
        FsTiles::write_checkpoint(self, note).map_err(|e| fs_error(&self.root, e))
    }

    fn has_tiles(&self) -> Result<bool, StorageError> {
        Ok(self.root.join("tile").exists())
    }

    fn prune_partials(&self, written: &[TileId]) -> Result<u64, StorageError> {
        FsTiles::prune_partials(self, written.iter().copied()).map_err(|e| fs_error(&self.root, e))
    }

    fn tidy(&self, size: u64) -> Result<Tidied, StorageError> {
        FsTiles::tidy(self, size).map_err(|e| fs_error(&self.root, e))
    }

    fn describe(&self) -> String {
        format!("fs:{}", self.root.display())
    }
}

/// An I/O error on the data directory, as a storage error.
pub(crate) fn fs_error(path: &Path, e: io::Error) -> StorageError {
    StorageError::backend("file system", format!("{}: {e}", path.display()))
}

impl TileReader for FsTiles {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        if let Some(t) = self.cache().get(&id) {
            return Ok(t.as_ref().clone());
        }
        match fs::read(self.root.join(id.path())) {
            Ok(b) => {
                if id.level.is_some() {
                    self.cache().put(id, Arc::new(b.clone()));
                }
                Ok(b)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !id.is_full() => {
                // Pruned: its full tile exists; the partial tile is its prefix.
                let full = TileId {
                    width: TILE_WIDTH as u16,
                    ..id
                };
                let data = self.read_tile(full).map_err(|e| match e {
                    TlogError::TileNotFound(_) => TlogError::TileNotFound(id),
                    e => e,
                })?;
                let b = tile_prefix(id, &data)?;
                if id.level.is_some() {
                    self.cache().put(id, Arc::new(b.clone()));
                }
                Ok(b)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(TlogError::TileNotFound(id)),
            Err(e) => Err(TlogError::Storage(Box::new(e))),
        }
    }
}

/// The directory that holds the partial tiles of the full tile `id`: `tile/<L>/<N>.p`.
fn partial_dir(id: TileId) -> PathBuf {
    let partial = TileId { width: 1, ..id };
    let p = PathBuf::from(partial.path());
    p.parent().map(Path::to_path_buf).unwrap_or(p)
}

/// Whether a tree of `size` leaves contains all of the full tile `id`.
fn covered(id: &TileId, size: u64) -> bool {
    let level = id.level.map_or(0, u32::from);
    let Some(leaves) = 256u64.checked_pow(level + 1) else {
        return false;
    };
    id.index
        .checked_add(1)
        .and_then(|n| n.checked_mul(leaves))
        .is_some_and(|end| end <= size)
}
