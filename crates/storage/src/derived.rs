//! The derived state's writer: everything in it can be rebuilt from the log.

use headcount_core::entry::Entry;
use headcount_core::{CampaignTally, EntryHash, Leaf};

use crate::StorageError;

/// One accepted leaf, as the sequencer hands it to [`DerivedWriter::apply`].
pub struct AppliedLeaf<'a> {
    pub index: u64,
    pub leaf: &'a Leaf,
    pub entry: &'a Entry,
}

/// A campaign's tally with its signed tally note, if signing it succeeded.
pub type SignedTally = (CampaignTally, Option<Vec<u8>>);

/// Writes the derived state (an index of the log for the read model).
///
/// `applied_size` says how far it has caught up; the sequencer applies each
/// committed round after its commit point, and at start-up whatever the log
/// holds beyond `applied_size` (from leaf 0 after [`DerivedWriter::reset`]:
/// a rebuild).
pub trait DerivedWriter: Send {
    /// How many leaves have been applied.
    fn applied_size(&self) -> Result<u64, StorageError>;

    /// Forgets everything (before a rebuild from leaf 0).
    fn reset(&mut self) -> Result<(), StorageError>;

    /// Applies leaves `[first, first + leaves.len())`, the checkpoint that
    /// commits them (if the server signed one for this size), and the
    /// tallies of the campaigns they changed, atomically; `applied_size`
    /// becomes `tree_size`. Applying a leaf again is harmless.
    fn apply(
        &mut self,
        leaves: &[AppliedLeaf<'_>],
        tree_size: u64,
        checkpoint: Option<&[u8]>,
        tallies: &[SignedTally],
    ) -> Result<(), StorageError>;

    /// Replaces the stored checkpoint note of `size` (with cosignatures
    /// added), and moves the receipts of `entries` to that checkpoint.
    fn set_cosigned(
        &mut self,
        size: u64,
        note: &[u8],
        entries: &[EntryHash],
    ) -> Result<(), StorageError>;

    /// Stores an auditor's attestation (replacing its earlier one for the same size).
    fn add_attestation(
        &mut self,
        auditor: &str,
        tree_size: u64,
        verdict: &str,
        received: u64,
        note: &[u8],
    ) -> Result<(), StorageError>;
}
