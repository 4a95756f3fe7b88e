//! The storage a log runs on: one value per storage role (see
//! `headcount_storage`), and the default, a data directory (tiles and the
//! checkpoint on the file system, derived state in SQLite, a `flock`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use headcount_storage::{
    CheckpointStore, DerivedWriter, FencingToken, ReadModel, SequencerLease, StorageError,
    TileStore,
};

use crate::derived::{Derived, ReadPool};
use crate::fs::{FsCheckpoint, FsLease};
use crate::log::LogError;
use crate::tiles::FsTiles;

/// How long a sequencer's lease lasts without renewal (backends with expiring leases).
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// The storage of one log, with the sequencer lease already taken.
pub struct Storage {
    pub tiles: Arc<dyn TileStore>,
    pub checkpoint: Arc<dyn CheckpointStore>,
    /// The sequencer's writer of derived state.
    pub writer: Box<dyn DerivedWriter>,
    /// A second writer, for what arrives outside rounds (cosignatures, attestations).
    pub side_writer: Box<dyn DerivedWriter>,
    pub reads: Arc<dyn ReadModel>,
    pub lease: Box<dyn SequencerLease>,
    /// The fencing token this process holds.
    pub token: FencingToken,
    /// How long the lease lasts unrenewed; the log renews it every third of this.
    pub lease_ttl: Duration,
}

impl Storage {
    /// A data directory: `log/` (tiles, checkpoint), `state.sqlite`, `lock`.
    /// Fails with [`LogError::Locked`] while another process holds it.
    pub fn fs(data_dir: &Path, keep_partial_tiles: bool) -> Result<Storage, LogError> {
        crate::durable::create_dir_all_durable(data_dir).map_err(|source| LogError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let lock_path = data_dir.join("lock");
        let lease = FsLease::new(&lock_path);
        let token = match lease.try_acquire(&holder_name(), LEASE_TTL) {
            Ok(t) => t,
            Err(StorageError::LeaseHeld { .. }) => return Err(LogError::Locked(lock_path)),
            Err(e) => return Err(e.into()),
        };
        let tiles = FsTiles::new(data_dir.join("log")).keeping_partials(keep_partial_tiles);
        let db_path: PathBuf = data_dir.join("state.sqlite");
        let writer = Derived::open(&db_path)?;
        let side_writer = Derived::open(&db_path)?;
        Ok(Storage {
            tiles: Arc::new(tiles.clone()),
            checkpoint: Arc::new(FsCheckpoint::new(tiles)),
            writer: Box::new(writer),
            side_writer: Box::new(side_writer),
            reads: Arc::new(ReadPool::new(&db_path)),
            lease: Box::new(lease),
            token,
            lease_ttl: LEASE_TTL,
        })
    }
}

/// This process, for the lease's record (host name and process id; no address).
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    format!(
        "{}:{}",
        if host.is_empty() { "sequencer" } else { host },
        std::process::id()
    )
}
