use std::path::PathBuf;

use thiserror::Error;

/// Start-up and configuration errors.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A key or origin in the configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A key string could not be parsed.
    #[error(transparent)]
    Key(#[from] headcount_cosignature::Error),
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and on which path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A state file exists but cannot be parsed. The witness refuses to start rather than
    /// forget what it cosigned.
    #[error("corrupt state file {path}: {reason}")]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds the state directory lock.
    #[error("state directory {0} is locked by another witness process")]
    Locked(PathBuf),
}

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// Why an add-checkpoint request was not cosigned. Each maps to the HTTP status
/// c2sp.org/tlog-witness prescribes ([`AddError::status`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddError {
    /// 400: the request body is malformed, or the old size exceeds the checkpoint size.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: the checkpoint origin is not a known log.
    #[error("unknown log origin")]
    UnknownLog,
    /// 403: no signature from a trusted log key, or one that fails to verify.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 409: the old size is not the size of the latest checkpoint cosigned for this log.
    #[error("old size does not match; latest cosigned size is {latest_size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned (0 if none).
        latest_size: u64,
    },
    /// 422: the checkpoint is not consistent with the latest cosigned one (bad proof, a
    /// different root at the same size, or a non-empty root for size 0).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 500: the witness could not persist its state; nothing was cosigned. The log's state is
    /// poisoned until restart.
    #[error("internal error")]
    Internal(String),
}

impl AddError {
    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            AddError::BadRequest(_) => 400,
            AddError::UnknownLog => 404,
            AddError::Forbidden(_) => 403,
            AddError::Conflict { .. } => 409,
            AddError::Unprocessable(_) => 422,
            AddError::Internal(_) => 500,
        }
    }
}
