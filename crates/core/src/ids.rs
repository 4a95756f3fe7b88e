//! Identifier newtypes. All display and serialise as lowercase hex.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Parses lowercase or uppercase hex of exactly the right length.
            pub fn from_hex(s: &str) -> Option<Self> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).ok()?;
                Some(Self(out))
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::from_hex(&s).ok_or_else(|| {
                    serde::de::Error::custom(concat!("expected hex ", stringify!($name)))
                })
            }
        }
    };
}

byte_id!(
    /// A campaign's id: SHA-256 of the campaign entry's signed bytes (everything but the signature).
    CampaignId,
    32
);
byte_id!(
    /// A registrar's id: SHA-256 of the registrar entry's signed bytes (everything but the signature).
    RegistrarId,
    32
);
byte_id!(
    /// SHA-256 of a whole encoded entry; what makes resubmission idempotent.
    EntryHash,
    32
);
byte_id!(
    /// A registrar's opaque per-person-per-campaign reference for a vouched declaration.
    VouchReference,
    32
);
byte_id!(
    /// A BBS per-verifier pseudonym (a compressed BLS12-381 G1 point). The core
    /// treats it as bytes; the credentials crate checks it is a valid point.
    Pseudonym,
    48
);

impl EntryHash {
    /// "No entry": the predecessor of a pseudonym's first entry in a campaign.
    pub const NONE: EntryHash = EntryHash([0; 32]);

    /// Whether this is [`EntryHash::NONE`].
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// SHA-256 of the encoded entry.
    pub fn of(entry_bytes: &[u8]) -> Self {
        EntryHash(Sha256::digest(entry_bytes).into())
    }
}

/// A sequencer timestamp: Unix seconds, always a whole minute.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The granularity of sequencer timestamps, in seconds.
    pub const GRANULARITY: u64 = 60;

    /// Rounds Unix seconds down to the minute.
    pub fn coarse(unix_seconds: u64) -> Self {
        Timestamp(unix_seconds - unix_seconds % Self::GRANULARITY)
    }

    /// Whether this is a whole minute.
    pub fn is_coarse(self) -> bool {
        self.0.is_multiple_of(Self::GRANULARITY)
    }
}
