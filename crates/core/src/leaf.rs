//! Log leaves: what the sequencer appends for each accepted entry.
//!
//! ```text
//! leaf_version (u8 = 1) || timestamp (u64 BE, Unix seconds, whole minute) || entry
//! ```
//!
//! The timestamp is the sequencer's, coarse to the minute; it is what campaign
//! open and close times are enforced against.

use crate::entry::{Entry, MAX_ENTRY_LEN};
use crate::error::DecodeError;
use crate::ids::{EntryHash, Timestamp};

/// The leaf encoding version.
pub const LEAF_VERSION: u8 = 1;
/// Bytes before the entry in a leaf.
pub const LEAF_HEADER_LEN: usize = 9;

/// One log leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub timestamp: Timestamp,
    /// The encoded entry, exactly as submitted.
    pub entry: Vec<u8>,
}

impl Leaf {
    /// Encodes the leaf.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEAF_HEADER_LEN + self.entry.len());
        out.push(LEAF_VERSION);
        out.extend_from_slice(&self.timestamp.0.to_be_bytes());
        out.extend_from_slice(&self.entry);
        out
    }

    /// Splits a leaf into its timestamp and entry bytes; the entry is decoded separately.
    pub fn decode(bytes: &[u8]) -> Result<Leaf, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        if bytes[0] != LEAF_VERSION {
            return Err(DecodeError::UnsupportedVersion(bytes[0]));
        }
        if bytes.len() < LEAF_HEADER_LEN {
            return Err(DecodeError::Truncated { field: "timestamp" });
        }
        if bytes.len() > LEAF_HEADER_LEN + MAX_ENTRY_LEN {
            return Err(DecodeError::FieldTooLong {
                field: "entry",
                max: MAX_ENTRY_LEN,
            });
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&bytes[1..9]);
        Ok(Leaf {
            timestamp: Timestamp(u64::from_be_bytes(ts)),
            entry: bytes[LEAF_HEADER_LEN..].to_vec(),
        })
    }

    /// Decodes the entry.
    pub fn decode_entry(&self) -> Result<Entry, DecodeError> {
        Entry::decode(&self.entry)
    }

    /// SHA-256 of the entry bytes (not of the leaf): the idempotency key.
    pub fn entry_hash(&self) -> EntryHash {
        EntryHash::of(&self.entry)
    }
}
