//! The pure core of headcount.
//!
//! * [`entry`]: the eight entry types and their canonical, versioned encoding
//!   (`docs/wire-format.md` documents it byte by byte);
//! * [`leaf`]: what the sequencer appends (a coarse timestamp and the entry);
//! * [`state`]: the validity function, shared by the server and the auditor;
//! * [`tally`]: the counts (DESIGN §5), read out of the folded state;
//! * [`pow`]: the proof of work of unverified declarations;
//! * [`period`]: calendar-month issuance periods (what a credential discloses).
//!
//! No I/O, no clocks, no randomness: the same leaves give the same state and
//! the same tallies on every machine.

#![forbid(unsafe_code)]

mod codec;
pub mod credentials;
pub mod entry;
pub mod error;
pub mod ids;
pub mod leaf;
pub mod notes;
pub mod period;
pub mod pow;
pub mod state;
pub mod tally;
#[doc(hidden)]
pub mod testkit;
pub mod text;

pub use credentials::BbsCredentials;
pub use entry::{Entry, EntryType};
pub use error::{DecodeError, Rejection};
pub use ids::{CampaignId, EntryHash, Pseudonym, RegistrarId, Timestamp, VouchReference};
pub use leaf::Leaf;
pub use period::Period;
pub use state::{
    Change, CredentialVerifier, CryptoVerified, LogState, NoCredentials, ProofToVerify,
};
pub use tally::{CampaignTally, PeriodTally, RegistrarTally};
