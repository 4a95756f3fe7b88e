//! The C2SP static tree on the local filesystem.
//!
//! Layout under the data directory's `log/`: `checkpoint`, `tile/<L>/<N>[.p/<W>]`
//! and `tile/entries/<N>[.p/<W>]`, exactly the URL paths, so any static file
//! server (or a copy to an object store) serves the log as it is. Partial
//! tiles are kept after their full tile exists: a reader may still be
//! verifying against the older checkpoint, and recovery after a crash reads
//! the partial tiles of the last committed size.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use headcount_tlog::{Error as TlogError, TileId, TileReader};

use crate::durable::write_atomic;

/// Tiles and checkpoint in a directory.
#[derive(Clone, Debug)]
pub struct FsTiles {
    root: PathBuf,
}

impl FsTiles {
    /// The static tree rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsTiles { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes one tile durably.
    pub fn write_tile(&self, id: TileId, data: &[u8]) -> io::Result<()> {
        write_atomic(&self.root.join(id.path()), data)
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
        match fs::read(self.root.join(id.path())) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(TlogError::TileNotFound(id)),
            Err(e) => Err(TlogError::Storage(Box::new(e))),
        }
    }
}
