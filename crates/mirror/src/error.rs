use std::path::PathBuf;

/// Everything that can go wrong mirroring a log. None carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state directory.
    #[error("the mirror state directory {0} is in use by another process")]
    Locked(PathBuf),
    /// A bad key, URL or policy.
    #[error("configuration: {0}")]
    Config(String),
    /// The log's checkpoint is malformed or not signed by the log key.
    #[error("the log's checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    /// The log's checkpoint lacks the witness policy's quorum (or carries a bad cosignature).
    #[error("the log's checkpoint does not satisfy the witness policy: {0}")]
    Policy(String),
    /// The log's checkpoint is smaller than the one mirrored.
    #[error("the log's checkpoint (size {new}) is behind the mirrored one (size {held}): ignored")]
    Behind {
        /// Mirrored size.
        held: u64,
        /// The log's size.
        new: u64,
    },
    /// The log signed a tree that does not extend the mirrored one: a fork. Nothing of it is
    /// stored; the mirror keeps serving the tree it holds.
    #[error(
        "the log signed a tree of size {new} inconsistent with the mirrored one of size {held}: {reason}"
    )]
    Inconsistent {
        /// Mirrored size.
        held: u64,
        /// The log's size.
        new: u64,
        /// What did not match.
        reason: String,
    },
    /// A tile or entry bundle that does not verify against the checkpoint.
    #[error("the log's tiles: {0}")]
    Tiles(#[from] headcount_tlog::Error),
    /// Fetching from the log failed.
    #[error("fetching {url}: {message}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// The stored state does not verify (damaged disk, or another key's state).
    #[error("the stored mirror state does not verify: {0}")]
    CorruptState(String),
    /// Making the cosignature failed.
    #[error("cosigning: {0}")]
    Cosign(String),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}
