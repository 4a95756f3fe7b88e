//! The C2SP static tree on the local filesystem.
//!
//! Layout under the data directory's `log/`: `checkpoint`, `tile/<L>/<N>[.p/<W>]`
//! and `tile/entries/<N>[.p/<W>]`, exactly the URL paths, so any static file
//! server (or a copy to an object store) serves the log as it is. Partial
//! tiles are kept after their full tile exists: a reader may still be
//! verifying against the older checkpoint, and recovery after a crash reads
//! the partial tiles of the last committed size.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use headcount_tlog::{Error as TlogError, TileId, TileReader};

use crate::durable::write_atomic;

/// Tiles and checkpoint in a directory, with the most recently written or
/// read hash tiles kept in memory: receipts of a round all read the same
/// right-edge tiles, which the sequencer has just written. Entry bundles
/// (up to 16 MiB each) are never cached.
#[derive(Clone, Debug)]
pub struct FsTiles {
    root: PathBuf,
    cache: Arc<Mutex<TileCache>>,
}

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
        }
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

    /// The current checkpoint, if the log has one.
    pub fn read_checkpoint(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.root.join("checkpoint")) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
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
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(TlogError::TileNotFound(id)),
            Err(e) => Err(TlogError::Storage(Box::new(e))),
        }
    }
}
