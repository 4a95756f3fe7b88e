//! C2SP [tlog-mirror](https://c2sp.org/tlog-mirror) for headcount: a cosigner that also
//! stores. A mirror follows one log, verifies every checkpoint (the log's signature, the
//! witness policy's quorum, consistency with what it already holds) and every tile and entry
//! bundle against it, stores them durably under `<dir>/<origin hash>/`, cosigns the checkpoint
//! (C2SP cosignature/v1) only once everything it covers is stored, and serves the copy with the
//! tlog-tiles read API at `<monitoring prefix>/<origin hash>/`. Anyone can then audit the log,
//! check receipts, or verify claims against the mirror alone, after the log is gone.
//!
//! - [`MirrorConfig`]: the mirror key, the log (key and URL), the witness policy.
//! - [`Mirror`]: the state machine and its store: [`Mirror::check_checkpoint`],
//!   [`Mirror::tiles_needed`], [`Mirror::commit`]. Synchronous; a commit persists tiles
//!   first, then the cosigned checkpoint (the commit point), each with fsync, rename and a
//!   directory fsync, so that an interruption at any instant resumes cleanly.
//! - [`follow_once`] / [`follow`]: pulls the log over HTTP (the spec's "other update
//!   process"; the push endpoints `add-checkpoint` / `add-entries` are not implemented).
//! - [`router`] / [`serve_on`]: the read API.

mod config;
mod error;
mod follow;
mod http;
mod mirror;
mod store;

pub use config::MirrorConfig;
pub use error::Error;
pub use follow::{follow, follow_once};
pub use http::{router, serve_on};
pub use mirror::Mirror;

/// The lowercase hex SHA-256 of a log origin: the mirror serves the log under
/// `<monitoring prefix>/<origin hash>/`.
pub fn origin_hash(origin: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(origin.as_bytes()))
}
