//! Typed errors with stable machine-readable codes.
//!
//! The code strings are part of the HTTP API and of the auditor's reports:
//! never rename one; add new ones.

use crate::ids::EntryHash;
use crate::period::Period;
use thiserror::Error;

/// Why bytes are not a well-formed entry. Every variant maps to a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("the entry is empty")]
    Empty,
    #[error("the entry ends inside field `{field}`")]
    Truncated { field: &'static str },
    #[error("{count} bytes follow the end of the entry")]
    TrailingBytes { count: usize },
    #[error("entry encoding version {0} is not supported (this software reads version 1)")]
    UnsupportedVersion(u8),
    #[error("entry type {0} is unknown")]
    UnknownType(u8),
    #[error("field `{field}` is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    #[error("field `{field}` is not in Unicode normalization form C")]
    NotNfc { field: &'static str },
    #[error("field `{field}` is longer than its limit of {max}")]
    FieldTooLong { field: &'static str, max: usize },
    #[error("field `{field}` contains a control character")]
    InvalidText { field: &'static str },
    #[error("field `{field}` must not be empty")]
    EmptyField { field: &'static str },
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
}

impl DecodeError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty_entry",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::TrailingBytes { .. } => "trailing_bytes",
            DecodeError::UnsupportedVersion(_) => "unsupported_version",
            DecodeError::UnknownType(_) => "unknown_entry_type",
            DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
            DecodeError::NotNfc { .. } => "not_nfc",
            DecodeError::FieldTooLong { .. } => "field_too_long",
            DecodeError::InvalidText { .. } => "invalid_text",
            DecodeError::EmptyField { .. } => "empty_field",
            DecodeError::InvalidField { .. } => "invalid_field",
        }
    }
}

/// Why a well-formed entry is not valid against the log state before it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the credential proof does not verify")]
    InvalidProof,
    #[error("the registrar's credential public key is not a valid key")]
    InvalidKey,
    #[error("this entry type is not accepted by this log yet: {0}")]
    UnsupportedEntry(&'static str),
    #[error("no campaign with this id is in the log")]
    UnknownCampaign,
    #[error("no registrar with this id is in the log")]
    UnknownRegistrar,
    #[error("this campaign is already in the log")]
    CampaignExists,
    #[error("this registrar is already in the log")]
    RegistrarExists,
    #[error("this registrar already logged its issuance for {0}")]
    PeriodExists(Period),
    #[error("{0} is not over yet: a registrar logs a month's issuance once the month has ended")]
    PeriodNotOver(Period),
    #[error(
        "the registrar has not logged its issuance for {0} yet: a credential can be used once \
         the registrar has logged the month it was issued in (after that month ends)"
    )]
    PeriodNotLogged(Period),
    #[error(
        "the registrar logged {size} credentials for {period}, fewer than the {need} this \
         campaign requires as an anonymity set"
    )]
    AnonymitySetTooSmall {
        period: Period,
        size: u32,
        need: u32,
    },
    #[error("the registrar has retired its keys")]
    RegistrarRetired,
    #[error(
        "the entry names {got} as this pseudonym's previous entry in the campaign, but the \
         latest is {current}"
    )]
    StalePredecessor { got: EntryHash, current: EntryHash },
    #[error("the campaign is not open yet")]
    CampaignNotOpen,
    #[error("the campaign is closed")]
    CampaignClosed,
    #[error("the campaign does not accept this registrar")]
    RegistrarNotAccepted,
    #[error("the campaign does not accept unverified declarations")]
    UnverifiedNotAccepted,
    #[error("the proof of work has {got} leading zero bits; the campaign requires {need}")]
    InsufficientWork { got: u32, need: u8 },
    #[error("no declaration with this pseudonym is counted in the campaign")]
    NotDeclared,
    #[error("this exact entry is already in the log")]
    DuplicateEntry,
    #[error("the leaf timestamp {got} is not a whole minute at or after {previous}")]
    BadTimestamp { got: u64, previous: u64 },
}

impl Rejection {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(e) => e.code(),
            Rejection::BadSignature => "bad_signature",
            Rejection::InvalidProof => "invalid_proof",
            Rejection::InvalidKey => "invalid_key",
            Rejection::UnsupportedEntry(_) => "unsupported_entry",
            Rejection::UnknownCampaign => "unknown_campaign",
            Rejection::UnknownRegistrar => "unknown_registrar",
            Rejection::CampaignExists => "campaign_exists",
            Rejection::RegistrarExists => "registrar_exists",
            Rejection::PeriodExists(_) => "period_exists",
            Rejection::PeriodNotOver(_) => "period_not_over",
            Rejection::PeriodNotLogged(_) => "period_not_logged",
            Rejection::AnonymitySetTooSmall { .. } => "anonymity_set_too_small",
            Rejection::RegistrarRetired => "registrar_retired",
            Rejection::StalePredecessor { .. } => "stale_predecessor",
            Rejection::CampaignNotOpen => "campaign_not_open",
            Rejection::CampaignClosed => "campaign_closed",
            Rejection::RegistrarNotAccepted => "registrar_not_accepted",
            Rejection::UnverifiedNotAccepted => "unverified_not_accepted",
            Rejection::InsufficientWork { .. } => "insufficient_work",
            Rejection::NotDeclared => "not_declared",
            Rejection::DuplicateEntry => "duplicate_entry",
            Rejection::BadTimestamp { .. } => "bad_timestamp",
        }
    }
}
