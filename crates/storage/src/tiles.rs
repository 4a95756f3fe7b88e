//! Tiles and entry bundles: the C2SP static tree that readers fetch.

use headcount_tlog::{TileId, TileReader};

use crate::StorageError;

/// What [`TileStore::tidy`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tidied {
    /// Temporary files of interrupted writes.
    pub temporaries: u64,
    /// Directories of partial tiles whose full tile is covered by the checkpoint.
    pub partial_dirs: u64,
}

/// Where the tiles (`tile/<L>/<N>[.p/<W>]`) and entry bundles
/// (`tile/entries/<N>[.p/<W>]`) live, at exactly their C2SP URL paths.
///
/// Reads go through [`TileReader`]: a missing tile is
/// `headcount_tlog::Error::TileNotFound`. Writes come only from the sequencer,
/// through its [`crate::CheckpointStore`], for a round it committed or is committing.
pub trait TileStore: TileReader + Send + Sync {
    /// Stores one tile durably. A tile whose contents a checkpoint fixes is
    /// immutable: writing other bytes at its coordinates is
    /// [`StorageError::TileConflict`] in stores that can tell (object
    /// storage writes are create-only); writing the same bytes again succeeds.
    fn write_tile(&self, id: TileId, data: &[u8]) -> Result<(), StorageError>;

    /// Publishes the checkpoint readers fetch (`checkpoint`, beside `tile/`).
    /// Called only after the tiles it covers are stored; not the commit point
    /// (see [`crate::CheckpointStore`]), though in the file-system backend the
    /// two are one file.
    fn write_checkpoint(&self, note: &[u8]) -> Result<(), StorageError>;

    /// Whether any tile exists (a tree without its checkpoint is not a new log).
    fn has_tiles(&self) -> Result<bool, StorageError>;

    /// Deletes the partial tiles of the full tiles in `written`, once a
    /// durable checkpoint covers them. Stores that keep partial tiles do nothing.
    fn prune_partials(&self, written: &[TileId]) -> Result<u64, StorageError> {
        let _ = written;
        Ok(0)
    }

    /// Start-up housekeeping for a log whose checkpoint has `size` leaves:
    /// what interrupted writes and pruning left. Nothing by default.
    fn tidy(&self, size: u64) -> Result<Tidied, StorageError> {
        let _ = size;
        Ok(Tidied::default())
    }

    /// A short name for logs and errors (`fs:/path`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
}
