//! The registrar side of headcount credential issuance, one protocol two ways:
//!
//! * **offline**: `headcount credential request` writes a [`CredentialRequest`] file, the
//!   registrar runs [`Ledger::issue`] on it (`headcount registrar issue`) and hands back a
//!   [`CredentialResponse`] file, which `headcount credential finish` turns into a credential;
//! * **online**: the same two documents are the bodies of a small HTTP service
//!   ([`http::router`], [`http::admin_router`], [`http::serve`]): declarants submit and poll,
//!   the registrar approves each request from a separate, loopback-only admin API after its
//!   out-of-band check. [`client`] has the calls for the CLI.
//!
//! [`Ledger`] is the registrar's durable state: what each month issued, which requests were
//! answered (a replayed request gets the same answer, never a second credential), and the
//! queue of requests waiting for approval. See the crate README for what is stored, and what
//! never is.

#![forbid(unsafe_code)]

pub mod client;
pub mod console;
pub mod http;
mod ledger;
pub mod localweb;
pub mod wire;

pub use ledger::{
    Ledger, MAX_PENDING, MAX_REASON_CHARS, PendingRequest, PeriodInfo, QUEUE_TTL_SECS, Status,
    now_minute,
};
pub use wire::{CredentialRequest, CredentialResponse, RequestId, reference_code, request_id_of};

use headcount_core::Period;
use std::path::PathBuf;

/// Errors. Each has a stable machine-readable [`Error::code`] and an HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body or file is not JSON of the expected shape (including unknown fields).
    #[error("not a valid JSON document of this type: {0}")]
    InvalidJson(String),
    /// A wire version other than 1.
    #[error("unsupported version {0} (this software speaks version 2)")]
    UnsupportedVersion(u32),
    /// A field that must be hex is not.
    #[error("{0} is not hex")]
    InvalidHex(&'static str),
    /// A hex field of the wrong length.
    #[error("{field}: expected {expected} bytes, got {got}")]
    InvalidLength {
        /// The field.
        field: &'static str,
        /// The only accepted length, in bytes.
        expected: usize,
        /// The length received, in bytes.
        got: usize,
    },
    /// The blind commitment is malformed (e.g. all zeros, the identity, a non-canonical
    /// scalar) or its proof of knowledge does not verify.
    #[error("invalid commitment: {0}")]
    InvalidCommitment(String),
    /// A response's blind signature is malformed.
    #[error("invalid blind signature: {0}")]
    InvalidSignature(String),
    /// The body or file exceeds the size limit.
    #[error("too large")]
    TooLarge,
    /// The request is addressed to another registrar.
    #[error("the request is for registrar {got}, this is registrar {expected}")]
    WrongRegistrar {
        /// This registrar.
        expected: String,
        /// The request's registrar.
        got: String,
    },
    /// The request asks for another month than the one being issued.
    #[error(
        "the request asks to be issued in {requested}, but credentials are issued into the \
         current month, {current}"
    )]
    PeriodMismatch {
        /// The month asked for.
        requested: Period,
        /// The month being issued.
        current: Period,
    },
    /// The month is closed: its size is final (the registrar's clock is wrong).
    #[error("{0} is closed")]
    PeriodClosed(Period),
    /// The month has reached the largest size an entry can carry.
    #[error("{0} is full")]
    PeriodFull(Period),
    /// A month with no credential cannot be logged (its size would be 0).
    #[error("no credential was issued in {0}")]
    EmptyPeriod(Period),
    /// A month can be closed only once it is over.
    #[error("{0} is not over yet: close it once the month has ended")]
    PeriodNotOver(Period),
    /// An issuance-period entry is only made for a closed month.
    #[error("{0} is not closed")]
    PeriodNotClosed(Period),
    /// No request with this id.
    #[error("no request with this id")]
    NotFound,
    /// The request was already decided.
    #[error("the request is not pending (it is {0})")]
    NotPending(&'static str),
    /// The same request bytes were submitted with different fields.
    #[error("this request was already submitted asking for a different month")]
    RequestConflict,
    /// Too many requests are waiting for approval; try again later.
    #[error("the approval queue is full; try again later")]
    QueueFull,
    /// A rejection reason that is empty, too long, or not a single line of text.
    #[error("the reason must be 1 to {max} characters of text", max = ledger::MAX_REASON_CHARS)]
    InvalidReason,
    /// The state directory belongs to another registrar.
    #[error("this state directory belongs to registrar {0}")]
    LedgerRegistrarMismatch(String),
    /// Another process holds the state directory.
    #[error("the state directory {0} is in use by another process")]
    Locked(PathBuf),
    /// The state directory holds something unexpected.
    #[error("corrupt registrar state: {0}")]
    Corrupt(String),
    /// Reading or writing state failed.
    #[error("state I/O: {0}")]
    Io(String),
    /// The admin listener is not on a loopback address.
    #[error("the admin API must listen on a loopback address, not {0}")]
    AdminNotLoopback(String),
    /// An unexpected failure (the BBS backend, a task).
    #[error("internal error: {0}")]
    Internal(String),
    /// Client: the HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// Client: the service answered with an error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// Human-readable message.
        message: String,
    },
}

impl Error {
    /// The stable error code (the `error` field of HTTP error bodies).
    pub fn code(&self) -> &str {
        match self {
            Error::InvalidJson(_) => "invalid_json",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::InvalidHex(_) => "invalid_hex",
            Error::InvalidLength { .. } => "invalid_length",
            Error::InvalidCommitment(_) => "invalid_commitment",
            Error::InvalidSignature(_) => "invalid_signature",
            Error::TooLarge => "payload_too_large",
            Error::WrongRegistrar { .. } => "wrong_registrar",
            Error::PeriodMismatch { .. } => "period_mismatch",
            Error::PeriodClosed(_) => "period_closed",
            Error::PeriodFull(_) => "period_full",
            Error::EmptyPeriod(_) => "empty_period",
            Error::PeriodNotOver(_) => "period_not_over",
            Error::PeriodNotClosed(_) => "period_not_closed",
            Error::NotFound => "not_found",
            Error::NotPending(_) => "not_pending",
            Error::RequestConflict => "request_conflict",
            Error::QueueFull => "queue_full",
            Error::InvalidReason => "invalid_reason",
            Error::LedgerRegistrarMismatch(_) => "ledger_registrar_mismatch",
            Error::Locked(_)
            | Error::Corrupt(_)
            | Error::Io(_)
            | Error::AdminNotLoopback(_)
            | Error::Internal(_) => "internal",
            Error::Http(_) => "http",
            Error::Api { code, .. } => code,
        }
    }

    /// The HTTP status the service answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidJson(_)
            | Error::UnsupportedVersion(_)
            | Error::InvalidHex(_)
            | Error::InvalidLength { .. }
            | Error::InvalidReason => 400,
            Error::NotFound => 404,
            Error::PeriodMismatch { .. }
            | Error::PeriodClosed(_)
            | Error::PeriodFull(_)
            | Error::EmptyPeriod(_)
            | Error::PeriodNotOver(_)
            | Error::PeriodNotClosed(_)
            | Error::NotPending(_)
            | Error::RequestConflict
            | Error::LedgerRegistrarMismatch(_) => 409,
            Error::TooLarge => 413,
            Error::InvalidCommitment(_)
            | Error::InvalidSignature(_)
            | Error::WrongRegistrar { .. } => 422,
            Error::QueueFull => 503,
            Error::Api { status, .. } => *status,
            _ => 500,
        }
    }
}
