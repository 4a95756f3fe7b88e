//! The storage error: one enum for every backend, with what a caller must
//! tell apart (a lost race, a lost lease, a fork) kept apart from plain I/O.

/// A storage error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The checkpoint of record is not the one the caller read: another
    /// sequencer committed in between. Fatal for this sequencer: it must
    /// reload from storage (or stop) rather than retry.
    #[error("the checkpoint of record changed under this sequencer (compare-and-swap failed)")]
    CheckpointConflict,
    /// A tile already exists with other contents: two histories were
    /// written at the same coordinates. Never retried, never overwritten.
    #[error("tile {0} already exists with different contents; refusing to overwrite it")]
    TileConflict(String),
    /// Another sequencer holds the lease.
    #[error("the sequencer lease is held by {holder} until it expires")]
    LeaseHeld { holder: String },
    /// This sequencer's lease was taken over (its fencing token is stale).
    #[error("this sequencer's lease (fencing token {token}) was taken over; it must stop writing")]
    LeaseLost { token: u64 },
    /// Stored data does not parse.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, network, database); retryable in general.
    #[error("{backend}: {message}")]
    Backend {
        backend: &'static str,
        message: String,
    },
}

impl StorageError {
    /// A backend failure, described.
    pub fn backend(backend: &'static str, e: impl std::fmt::Display) -> Self {
        StorageError::Backend {
            backend,
            message: e.to_string(),
        }
    }

    /// Whether retrying the same call later can succeed (a backend fault),
    /// as opposed to a lost race, a lost lease or a fork.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::Backend { .. })
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::Corrupt(format!("stored tally: {e}"))
    }
}
