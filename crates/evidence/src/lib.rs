//! # headcount-evidence
//!
//! The appeal's evidence packet: one file an officer can keep, forward and
//! check offline, years later. It holds a campaign, its registrars, the log's
//! cosigned checkpoint and witness policy, auditors' attestations, the
//! recomputed counts and trend, a report (HTML, and a PDF printed from it),
//! and enough of the log to verify all of it:
//!
//! * **full** mode: the whole log prefix as C2SP tiles; [`verify()`] re-runs the
//!   auditor's fold ([`headcount_audit::fold_tiles`]) over every entry and
//!   recomputes the count exactly;
//! * **compact** mode: the campaign's entries and its registrars', each with
//!   an RFC 6962 inclusion proof against the checkpoint; [`verify()`] proves
//!   "at least N valid declarations" and says that exactness rests on the
//!   named auditors.
//!
//! [`build()`] and [`verify()`] do no I/O; fetching and the PDF are the
//! caller's (`headcount evidence`). The format: `docs/evidence-packet.md`.

#![forbid(unsafe_code)]

mod build;
mod claims;
mod compact;
mod error;
mod format;
mod i18n;
mod report;
mod verify;

pub use build::{BuildError, Built, LogData, add_pdf, build, rerender};
pub use claims::{CampaignInfo, Claims, PeriodInfo, RegistrarInfo, Text, TrendPoint};
pub use compact::{ProvedLeaf, decode as decode_entries, encode as encode_entries};
pub use error::{Failure, PacketError};
pub use format::{AttestationRef, FORMAT, MAX_PACKET, MIMETYPE, Manifest, Mode, Packet, VERSION};
pub use report::{fmt_time, readme, render as render_html};
pub use verify::{Attested, Cosigner, Pins, Verified, verify, verify_bytes};

/// Names of the files in a packet.
pub mod files {
    pub use crate::format::{
        CHECKPOINT, ENTRIES, MANIFEST, POLICY, README, REPORT_HTML, REPORT_PDF,
    };
}
