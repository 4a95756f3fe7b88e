//! The single-sequencer lease.

use std::time::Duration;

use crate::StorageError;

/// A lease's fencing token: it grows with every takeover, and every write
/// the holder makes to shared storage is refused once a newer token exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub u64);

/// At most one sequencer appends to a log at a time.
pub trait SequencerLease: Send + Sync {
    /// Takes the lease for `holder` (a name for operators) for `ttl`, if no
    /// one holds it or the holder's lease expired:
    /// [`StorageError::LeaseHeld`] otherwise.
    fn try_acquire(&self, holder: &str, ttl: Duration) -> Result<FencingToken, StorageError>;

    /// Extends the lease `token` holds by `ttl`: [`StorageError::LeaseLost`]
    /// if it was taken over meanwhile.
    fn renew(&self, token: FencingToken, ttl: Duration) -> Result<(), StorageError>;

    /// Gives the lease up (a clean shutdown), so a standby need not wait for it to expire.
    fn release(&self, token: FencingToken) -> Result<(), StorageError>;
}
