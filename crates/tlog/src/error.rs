//! The crate's one error type.

use crate::TileId;

/// Everything that can go wrong in `headcount-tlog`.
///
/// [`Error::TileNotFound`] and [`Error::Storage`] are for [`crate::TileReader`] implementations;
/// every other variant means the input (a path, a tile, a proof, a note, ...) is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tile path that the tlog-tiles spec does not allow.
    #[error("malformed tile path {0:?}")]
    BadTilePath(String),
    /// A malformed entry bundle.
    #[error("malformed entry bundle: {0}")]
    BadBundle(&'static str),
    /// An entry longer than a bundle can hold (65535 bytes).
    #[error("entry of {len} bytes is longer than the 65535 bytes a bundle can hold")]
    EntryTooLarge {
        /// The entry's length.
        len: usize,
    },
    /// A tile that has the wrong size or contents.
    #[error("bad tile {}: {reason}", .id.path())]
    BadTile {
        /// The tile.
        id: TileId,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A [`crate::TileReader`] has no such tile.
    #[error("tile {} not found", .0.path())]
    TileNotFound(TileId),
    /// A [`crate::TileReader`] failed for another reason.
    #[error("tile storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Stored tiles, or a tree edge, do not hash to the expected root.
    #[error("tiles do not hash to the expected root")]
    RootMismatch,
    /// An inclusion or consistency proof does not verify.
    #[error("invalid proof")]
    InvalidProof,
    /// Sizes or indexes that do not fit together (index beyond the tree, old size above new...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A malformed signer or verifier key.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// A malformed signed note.
    #[error("malformed signed note")]
    BadNote,
    /// A note whose signature by the log's key is missing or does not verify.
    #[error("note is not validly signed by the log key: {0}")]
    BadSignature(String),
    /// Note text that is not a valid checkpoint.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
    /// A checkpoint from another log.
    #[error("checkpoint origin {found:?} is not the log's origin {expected:?}")]
    OriginMismatch {
        /// The verifier's origin.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
    /// Malformed `c2sp.org/tlog-proof@v1` text.
    #[error("malformed tlog-proof: {0}")]
    BadProofText(&'static str),
}

impl Error {
    /// Maps an error of the `tlog_tiles` algorithms.
    pub(crate) fn from_tlog(e: tlog_tiles::Error) -> Self {
        match e {
            tlog_tiles::Error::InvalidProof => Error::InvalidProof,
            tlog_tiles::Error::InvalidInput(s) => Error::InvalidInput(s),
            other => Error::InvalidInput(other.to_string()),
        }
    }
}

// Errors cross threads (the auditor's parallel fetches) and go into `anyhow`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Error>();
};
