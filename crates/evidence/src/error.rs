//! Errors: a packet that cannot be read or written ([`PacketError`]), and a
//! packet that does not prove what it says ([`Failure`], with a stable code).

/// The archive itself is unreadable, or could not be written.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// Not a well-formed packet of this version (names, sizes, JSON).
    #[error("malformed packet: {0}")]
    Format(String),
    /// A packet version this code does not know.
    #[error("packet version {0} is not supported (this program reads version 1)")]
    Version(String),
    /// Writing the archive failed.
    #[error("cannot write the packet: {0}")]
    Write(String),
}

/// Why a packet does not verify. Each has a stable [`Failure::code`].
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// The checkpoint is not signed by the packet's (or the pinned) log key.
    #[error("the checkpoint is not signed by the log key: {0}")]
    BadCheckpointSignature(String),
    /// A pinned log key or witness policy is not the packet's.
    #[error("{0}")]
    NotPinned(String),
    /// The checkpoint does not satisfy the witness policy.
    #[error("the checkpoint does not satisfy the witness policy: {0}")]
    WitnessQuorum(String),
    /// Full mode: the tiles do not hash to the checkpoint's root.
    #[error("the log in the packet does not match the checkpoint: {0}")]
    TreeMismatch(String),
    /// Compact mode: an entry's inclusion proof does not verify.
    #[error("entry {index} is not in the log the checkpoint commits to: {reason}")]
    NotIncluded { index: u64, reason: String },
    /// An entry the log's own rules reject.
    #[error("entry {index} is invalid ({code}): {message}")]
    InvalidEntry {
        index: u64,
        code: &'static str,
        message: String,
    },
    /// Compact mode: the campaign or one of its registrars is not in the packet.
    #[error("the packet is incomplete: {0}")]
    Incomplete(String),
    /// A figure the packet states differs from the recomputation.
    #[error("the packet states {what} = {claimed}, but its log data gives {recomputed}")]
    ClaimsDiffer {
        what: String,
        claimed: String,
        recomputed: String,
    },
    /// An attestation that is not what the manifest says it is.
    #[error("attestation {file}: {reason}")]
    BadAttestation { file: String, reason: String },
    /// `report.html` is not the report of the verified data.
    #[error("report.html is not the report of the verified data (it was altered)")]
    ReportDiffers,
}

impl Failure {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Packet(_) => "malformed_packet",
            Failure::BadCheckpointSignature(_) => "bad_checkpoint_signature",
            Failure::NotPinned(_) => "not_pinned",
            Failure::WitnessQuorum(_) => "witness_quorum",
            Failure::TreeMismatch(_) => "tree_mismatch",
            Failure::NotIncluded { .. } => "not_included",
            Failure::InvalidEntry { .. } => "invalid_entry",
            Failure::Incomplete(_) => "incomplete",
            Failure::ClaimsDiffer { .. } => "count_differs",
            Failure::BadAttestation { .. } => "bad_attestation",
            Failure::ReportDiffers => "report_differs",
        }
    }
}
