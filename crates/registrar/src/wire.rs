//! The two files of issuance, which are also the HTTP bodies of the service.
//!
//! Both are JSON objects with a `version` (always `2`) and strictly known fields
//! (`deny_unknown_fields`); every byte string is lowercase hex of an exact length.

use headcount_core::{Period, RegistrarId};
use headcount_credentials::{
    Attributes, BLIND_SIGNATURE_LEN, BlindSignature, IssuanceRequest, REQUEST_LEN,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// The only wire version.
pub const WIRE_VERSION: u32 = 2;

/// Largest request or response file accepted (both are well under 1 KiB).
pub const MAX_WIRE_LEN: usize = 4096;

/// A request id: SHA-256 of the 144 issuance request bytes (the wallet's
/// `PendingIssuance::request_id_of`).
pub type RequestId = [u8; 32];

/// The request id of an issuance request.
pub fn request_id_of(request: &IssuanceRequest) -> RequestId {
    Sha256::digest(request.to_bytes()).into()
}

/// The reference code of a request: what the declarant's app shows and reads out to the
/// registrar by phone, and what the registrar's console lists beside each pending request.
/// The first 40 bits of the request id in Crockford base32 (no I, L, O or U), as `XXXX-XXXX`:
/// short enough to read out, and a collision among the queue's at most
/// [`crate::MAX_PENDING`] requests is about one in 10⁵ (the console then shows both rows).
pub fn reference_code(id: &RequestId) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = id[..5]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut out = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let d = (bits >> (35 - 5 * i)) & 31;
        out.push(char::from(ALPHABET[d as usize]));
    }
    out
}

/// Parses a 64-hex-digit request id.
pub fn parse_request_id(s: &str) -> Result<RequestId, Error> {
    let mut id = [0u8; 32];
    if s.len() != 64 {
        return Err(Error::InvalidLength {
            field: "request_id",
            expected: 32,
            got: s.len() / 2,
        });
    }
    hex::decode_to_slice(s, &mut id).map_err(|_| Error::InvalidHex("request_id"))?;
    Ok(id)
}

/// `headcount credential request` → file/HTTP body → registrar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRequest {
    /// The registrar asked to sign.
    pub registrar: RegistrarId,
    /// The month the declarant expects to be issued in, if it says (the registrar refuses
    /// another; normally `None`).
    pub period: Option<Period>,
    /// The blind commitment with its proof.
    pub request: IssuanceRequest,
}

/// The registrar's answer → file/HTTP body → `headcount credential finish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialResponse {
    /// The signing registrar.
    pub registrar: RegistrarId,
    /// The calendar month of issuance (a disclosed, signed attribute).
    pub period: Period,
    /// SHA-256 of the request bytes this answers.
    pub request_id: RequestId,
    /// The blind signature.
    pub blind_signature: BlindSignature,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    version: u32,
    registrar: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
    request: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    version: u32,
    registrar: String,
    period: Period,
    request_id: String,
    blind_signature: String,
}

fn check_version(v: u32) -> Result<(), Error> {
    if v != WIRE_VERSION {
        return Err(Error::UnsupportedVersion(v));
    }
    Ok(())
}

fn hex_exact<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], Error> {
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidHex(field));
    }
    if s.len() != 2 * N {
        return Err(Error::InvalidLength {
            field,
            expected: N,
            got: s.len() / 2,
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| Error::InvalidHex(field))?;
    Ok(out)
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.len() > MAX_WIRE_LEN {
        return Err(Error::TooLarge);
    }
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidJson(e.to_string()))
}

impl CredentialRequest {
    /// A request for `registrar`.
    pub fn new(registrar: RegistrarId, period: Option<Period>, request: IssuanceRequest) -> Self {
        Self {
            registrar,
            period,
            request,
        }
    }

    /// SHA-256 of the request bytes.
    pub fn request_id(&self) -> RequestId {
        request_id_of(&self.request)
    }

    /// Parses the JSON file/body: strict fields, version 2, exact hex lengths, and a
    /// well-formed commitment (a valid non-identity point and canonical scalars; the proof
    /// itself is checked when the registrar signs).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let raw: RawRequest = parse_json(bytes)?;
        check_version(raw.version)?;
        let registrar = RegistrarId(hex_exact::<32>("registrar", &raw.registrar)?);
        let request_bytes = hex_exact::<REQUEST_LEN>("request", &raw.request)?;
        let request = IssuanceRequest::from_bytes(&request_bytes)
            .map_err(|e| Error::InvalidCommitment(e.to_string()))?;
        Ok(Self {
            registrar,
            period: raw.period,
            request,
        })
    }

    /// The JSON file/body (pretty, with a trailing newline).
    pub fn to_json(&self) -> String {
        let raw = RawRequest {
            version: WIRE_VERSION,
            registrar: self.registrar.to_hex(),
            period: self.period,
            request: hex::encode(self.request.to_bytes()),
        };
        let mut s = serde_json::to_string_pretty(&raw).expect("plain struct serialises");
        s.push('\n');
        s
    }
}

impl CredentialResponse {
    /// The credential's attributes, for `finish_credential` / `Wallet::finish_issuance`.
    pub fn attributes(&self) -> Attributes {
        Attributes {
            registrar_id: self.registrar.0,
            period: self.period.0,
        }
    }

    /// Parses the JSON file/body: strict fields, version 2, exact hex lengths, a well-formed
    /// signature encoding (verified against the key by `finish_credential`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let raw: RawResponse = parse_json(bytes)?;
        check_version(raw.version)?;
        let registrar = RegistrarId(hex_exact::<32>("registrar", &raw.registrar)?);
        let request_id = hex_exact::<32>("request_id", &raw.request_id)?;
        let sig = hex_exact::<BLIND_SIGNATURE_LEN>("blind_signature", &raw.blind_signature)?;
        let blind_signature =
            BlindSignature::from_bytes(&sig).map_err(|e| Error::InvalidSignature(e.to_string()))?;
        Ok(Self {
            registrar,
            period: raw.period,
            request_id,
            blind_signature,
        })
    }

    /// The JSON file/body (pretty, with a trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_value()).expect("plain value");
        s.push('\n');
        s
    }

    /// The JSON value (for embedding in other documents).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self.raw()).expect("plain struct serialises")
    }

    /// Parses from a JSON value (strictly, as [`CredentialResponse::from_json`]).
    pub fn from_value(v: &serde_json::Value) -> Result<Self, Error> {
        Self::from_json(v.to_string().as_bytes())
    }

    fn raw(&self) -> RawResponse {
        RawResponse {
            version: WIRE_VERSION,
            registrar: self.registrar.to_hex(),
            period: self.period,
            request_id: hex::encode(self.request_id),
            blind_signature: hex::encode(self.blind_signature.to_bytes()),
        }
    }
}

impl Serialize for CredentialResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CredentialResponse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawResponse::deserialize(d)?;
        let bytes = serde_json::to_vec(&raw).map_err(serde::de::Error::custom)?;
        Self::from_json(&bytes).map_err(serde::de::Error::custom)
    }
}

impl Serialize for CredentialRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawRequest {
            version: WIRE_VERSION,
            registrar: self.registrar.to_hex(),
            period: self.period,
            request: hex::encode(self.request.to_bytes()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CredentialRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRequest::deserialize(d)?;
        let bytes = serde_json::to_vec(&raw).map_err(serde::de::Error::custom)?;
        Self::from_json(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod reference_tests {
    use super::reference_code;

    #[test]
    fn reference_code_is_the_first_40_bits_in_crockford_base32() {
        let mut id = [0u8; 32];
        assert_eq!(reference_code(&id), "0000-0000");
        id[..5].copy_from_slice(&[0xff; 5]);
        assert_eq!(reference_code(&id), "ZZZZ-ZZZZ");
        // 0x08 0x42 0x10 0x84 0x21 = 00001 00001 00001 00001 00001 00001 00001 00001
        id[..5].copy_from_slice(&[0x08, 0x42, 0x10, 0x84, 0x21]);
        assert_eq!(reference_code(&id), "1111-1111");
        // Bytes after the fifth do not change it.
        id[5] = 0xaa;
        assert_eq!(reference_code(&id), "1111-1111");
    }
}
