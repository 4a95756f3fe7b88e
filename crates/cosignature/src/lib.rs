//! C2SP [`cosignature/v1`](https://c2sp.org/tlog-cosignature) (timestamped Ed25519
//! checkpoint cosignatures, signed-note signature type `0x04`) and the parts of C2SP
//! [`tlog-policy`](https://c2sp.org/tlog-policy) that a checkpoint verifier needs.
//!
//! Pure: no I/O, no clock except in [`signed_note::Signer::sign`] for
//! [`CosignatureSigner`] (which must pick a timestamp; [`CosignatureSigner::cosign`] takes one).
//!
//! - [`CosignatureSigner`] / [`CosignatureVerifier`]: a witness key, with its `skey` / `vkey`
//!   text forms. Both implement the `signed_note` traits, so a cosigned checkpoint verifies with
//!   [`signed_note::Note::verify`] like any other note signature.
//! - [`LogVerifier`]: a log's checkpoint key (`0x01` Ed25519 or `0x04` cosignature/v1).
//! - [`Policy`]: a parsed tlog-policy file; [`Policy::check`] verifies a checkpoint note
//!   against its logs and witness quorum.
//! - [`split_note`]: a signed note split into its text and signature lines.

mod error;
mod key;
mod note;
mod policy;

pub use error::Error;
pub use key::{
    ALG_COSIGNATURE_V1, ALG_ED25519, COSIGNATURE_LEN, CosignatureSigner, CosignatureVerifier,
    LogVerifier, cosigned_message,
};
pub use note::{SplitNote, split_note};
pub use policy::{Policy, PolicyWitness};

/// Largest timestamp a cosignature may carry (the spec caps it at 2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
