use thiserror::Error;

/// Everything that can go wrong in this crate. Key and policy errors happen at start-up
/// (configuration); note errors happen per checkpoint (untrusted input).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A `vkey` or `skey` string is not in signed-note form, or its key ID does not match.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key has a signature type byte this code does not handle here.
    #[error("unsupported key type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// A key name is empty or contains a space or `+`.
    #[error("invalid key name")]
    InvalidKeyName,
    /// The input is not a well-formed signed note.
    #[error("malformed note")]
    MalformedNote,
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint")]
    MalformedCheckpoint,
    /// A signature line from a known key has the wrong length or layout.
    #[error("malformed signature from {name}")]
    MalformedSignature {
        /// The key name of the offending line.
        name: String,
    },
    /// A signature line from a known key does not verify (the whole note is rejected).
    #[error("invalid signature from {name}")]
    InvalidSignature {
        /// The key name of the offending line.
        name: String,
    },
    /// No signature line matches the expected key (name and key ID).
    #[error("no signature from {name}")]
    MissingSignature {
        /// The key name that was expected.
        name: String,
    },
    /// A timestamp above 2^63 - 1 (or zero, when signing).
    #[error("timestamp out of range")]
    TimestampOutOfRange,
    /// The note carries no valid signature from any log in the policy.
    #[error("no valid log signature")]
    NoLogSignature,
    /// The witness cosignatures present do not satisfy the policy quorum.
    #[error("witness quorum not met")]
    QuorumNotMet,
    /// A tlog-policy file is invalid.
    #[error("policy line {line}: {reason}")]
    Policy {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
