//! A log's storage with PostgreSQL: the derived state, its read model, the
//! sequencer lease and the commit point in one schema, and the tiles in any
//! [`TileStore`] (a data directory's `log/` today; readers fetch them there).

use std::sync::Arc;
use std::time::Duration;

use headcount_server::Storage;
use headcount_storage::{SequencerLease, StorageError, TileStore};

use crate::pg::PgStore;

/// Connects, takes the sequencer lease for `holder` (failing with
/// [`StorageError::LeaseHeld`] while another sequencer holds it: a standby
/// retries until it expires), and hands out the storage roles.
pub fn postgres(
    url: &str,
    schema: &str,
    tiles: Arc<dyn TileStore>,
    holder: &str,
    lease_ttl: Duration,
) -> Result<Storage, StorageError> {
    let store = PgStore::connect(url, schema, 16)?;
    let lease = store.lease();
    let token = lease.try_acquire(holder, lease_ttl)?;
    Ok(Storage {
        checkpoint: Arc::new(store.checkpoint(token, Arc::clone(&tiles))),
        tiles,
        writer: Box::new(store.writer(token)),
        side_writer: Box::new(store.writer(token)),
        reads: Arc::new(store.read_model()),
        lease: Box::new(lease),
        token,
        lease_ttl,
    })
}
