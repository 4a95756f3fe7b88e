//! The checkpoint of record: the commit point of every sequencing round.

use headcount_tlog::TileId;

use crate::StorageError;

/// The tiles a round produced, keyed by their coordinates.
pub type StagedTiles = [(TileId, Vec<u8>)];

/// Where the checkpoint of record lives.
///
/// A round computes its tiles, signs the new checkpoint, and calls
/// [`CheckpointStore::compare_and_swap`] with the checkpoint it started from:
/// that call is the commit point. If it returns `Ok`, the round is durable
/// (its tiles included: they were either written before the swap or staged
/// with it) and [`CheckpointStore::publish`] makes them and the checkpoint
/// readable. If it returns [`StorageError::CheckpointConflict`] or
/// [`StorageError::LeaseLost`], another sequencer owns the log now and
/// nothing of this round is visible. Recovery reads [`CheckpointStore::load`]
/// and calls `publish` again, so a crash between the swap and the end of
/// publishing loses nothing.
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint of record (a signed note), if the log has one.
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces the checkpoint of record, if it is still `old` (`None`: the
    /// log has none yet), by `new`, durably and together with the round's
    /// `tiles`.
    fn compare_and_swap(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        tiles: &StagedTiles,
    ) -> Result<(), StorageError>;

    /// Makes the committed round's tiles, and then its checkpoint, readable
    /// by the public. Idempotent; recovery calls it before the first round.
    fn publish(&self) -> Result<(), StorageError>;
}
