//! C2SP [tlog-witness](https://c2sp.org/tlog-witness): a witness HTTP service that cosigns a
//! log's checkpoints (C2SP cosignature/v1) only when they are consistent with the last one it
//! cosigned, with crash-safe state, and the client a log uses to ask for cosignatures.
//!
//! - [`WitnessConfig`]: the witness key and the known logs (origin → log verifier keys).
//! - [`Witness`]: the state machine; [`Witness::add_checkpoint`] is the whole protocol,
//!   synchronous, and persists (fsync, rename, fsync dir) before it returns a cosignature.
//! - [`router`] / [`serve`] / [`serve_on`]: the axum service (`POST /add-checkpoint`,
//!   `GET /<hex sha256(origin)>/checkpoint`).
//! - [`client`]: [`add_checkpoint`] and [`add_checkpoint_verified`] for logs.

pub mod client;
mod config;
mod error;
mod http;
mod request;
mod state;
mod witness;

pub use client::{ClientError, add_checkpoint, add_checkpoint_verified, request_body};
pub use config::WitnessConfig;
pub use error::{AddError, Error};
pub use http::{router, serve, serve_on};
pub use request::{AddCheckpointRequest, MAX_PROOF_LINES};
pub use witness::Witness;

/// The lowercase hex SHA-256 of a log origin, as used in the monitoring path
/// `GET /<origin hash>/checkpoint` and in state file names.
pub fn origin_hash(origin: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(origin.as_bytes()))
}
