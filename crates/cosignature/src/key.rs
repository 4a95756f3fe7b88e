//! Keys: the witness's cosignature/v1 key pair and log checkpoint verifier keys.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::prelude::*;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use signed_note::Signature;
use zeroize::Zeroizing;

use crate::{Error, MAX_TIMESTAMP, note::split_note};

/// signed-note signature type for plain Ed25519 note signatures (log keys).
pub const ALG_ED25519: u8 = 0x01;
/// signed-note signature type for timestamped Ed25519 checkpoint cosignatures (cosignature/v1).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Length of a cosignature/v1 signature after the key ID: u64 timestamp + Ed25519 signature.
pub const COSIGNATURE_LEN: usize = 8 + ed25519_dalek::SIGNATURE_LENGTH;

/// The message a cosignature/v1 signs: `cosignature/v1\ntime <t>\n` followed by the whole
/// checkpoint note text (with its final newline, without signature lines).
pub fn cosigned_message(checkpoint_body: &[u8], timestamp: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(40 + checkpoint_body.len());
    m.extend_from_slice(b"cosignature/v1\ntime ");
    m.extend_from_slice(timestamp.to_string().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(checkpoint_body);
    m
}

fn key_id(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut material = Vec::with_capacity(33);
    material.push(alg);
    material.extend_from_slice(public_key);
    signed_note::key_id(name, &material)
}

fn format_vkey(name: &str, alg: u8, public_key: &[u8; 32]) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(alg);
    material.extend_from_slice(public_key);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, alg, public_key),
        BASE64_STANDARD.encode(material)
    )
}

/// `<name>+<hex id>+<base64(type || key)>`, split and checked (name, key ID).
struct ParsedKey<'a> {
    name: &'a str,
    id: u32,
    alg: u8,
    material: Zeroizing<Vec<u8>>,
}

fn parse_key_parts<'a>(name: &'a str, id16: &str, key64: &str) -> Result<ParsedKey<'a>, Error> {
    if !signed_note::is_key_name_valid(name) {
        return Err(Error::InvalidKeyName);
    }
    if id16.len() != 8 || !id16.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedKey("key ID is not 8 hex digits"));
    }
    let id = u32::from_str_radix(id16, 16).map_err(|_| Error::MalformedKey("key ID"))?;
    let decoded = Zeroizing::new(
        BASE64_STANDARD
            .decode(key64)
            .map_err(|_| Error::MalformedKey("key material is not base64"))?,
    );
    let Some((&alg, rest)) = decoded.split_first() else {
        return Err(Error::MalformedKey("empty key material"));
    };
    Ok(ParsedKey {
        name,
        id,
        alg,
        material: Zeroizing::new(rest.to_vec()),
    })
}

fn parse_vkey(vkey: &str) -> Result<(ParsedKey<'_>, VerifyingKey), Error> {
    let (name, rest) = vkey.split_once('+').ok_or(Error::MalformedKey("no '+'"))?;
    let (id16, key64) = rest.split_once('+').ok_or(Error::MalformedKey("no '+'"))?;
    let parsed = parse_key_parts(name, id16, key64)?;
    if parsed.alg != ALG_ED25519 && parsed.alg != ALG_COSIGNATURE_V1 {
        return Err(Error::UnsupportedKeyType(parsed.alg));
    }
    let bytes: [u8; 32] = parsed
        .material
        .as_slice()
        .try_into()
        .map_err(|_| Error::MalformedKey("Ed25519 public key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| Error::MalformedKey("invalid Ed25519 public key"))?;
    if parsed.id != key_id(name, parsed.alg, &bytes) {
        return Err(Error::MalformedKey("key ID does not match name and key"));
    }
    Ok((parsed, key))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A witness (cosigner) key: name plus Ed25519 secret key. The secret is zeroized on drop
/// (`ed25519-dalek`'s `zeroize` feature) and never printed by `Debug`.
#[derive(Clone)]
pub struct CosignatureSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("vkey", &self.vkey())
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// A fresh key pair from the OS RNG. Returns the signer, its `skey`
    /// (`PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)`) and its `vkey`.
    pub fn generate(name: &str) -> Result<(Self, String, String), Error> {
        if !signed_note::is_key_name_valid(name) {
            return Err(Error::InvalidKeyName);
        }
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let signer = Self::from_signing_key(name, key)?;
        let skey = signer.skey();
        let vkey = signer.vkey();
        Ok((signer, skey, vkey))
    }

    /// A signer from an Ed25519 key and a name.
    pub fn from_signing_key(name: &str, key: SigningKey) -> Result<Self, Error> {
        if !signed_note::is_key_name_valid(name) {
            return Err(Error::InvalidKeyName);
        }
        let key_id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+base64(0x04 || 32-byte seed)`.
    pub fn from_skey(skey: &str) -> Result<Self, Error> {
        let rest = skey
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(Error::MalformedKey("skey must start with PRIVATE+KEY+"))?;
        let (name, rest) = rest.split_once('+').ok_or(Error::MalformedKey("no '+'"))?;
        let (id16, key64) = rest.split_once('+').ok_or(Error::MalformedKey("no '+'"))?;
        let parsed = parse_key_parts(name, id16, key64)?;
        if parsed.alg != ALG_COSIGNATURE_V1 {
            return Err(Error::UnsupportedKeyType(parsed.alg));
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            parsed
                .material
                .as_slice()
                .try_into()
                .map_err(|_| Error::MalformedKey("Ed25519 seed is not 32 bytes"))?,
        );
        let signer = Self::from_signing_key(name, SigningKey::from_bytes(&seed))?;
        if signer.key_id != parsed.id {
            return Err(Error::MalformedKey("key ID does not match name and key"));
        }
        Ok(signer)
    }

    /// The secret key in `skey` form. Treat the result as a secret.
    pub fn skey(&self) -> String {
        let mut material = Zeroizing::new(Vec::with_capacity(33));
        material.push(ALG_COSIGNATURE_V1);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64_STANDARD.encode(material.as_slice())
        )
    }

    /// The verifier key: `<name>+<hex id>+base64(0x04 || public key)`.
    pub fn vkey(&self) -> String {
        format_vkey(
            &self.name,
            ALG_COSIGNATURE_V1,
            self.key.verifying_key().as_bytes(),
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name (the cosigner's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Cosigns a checkpoint note text (origin, size, root hash, extension lines, each ending
    /// in a newline; no signature lines) at `timestamp` (POSIX seconds, 1..=2^63-1).
    pub fn cosign(&self, checkpoint_body: &[u8], timestamp: u64) -> Result<Signature, Error> {
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(Error::TimestampOutOfRange);
        }
        tlog_tiles::Checkpoint::from_bytes(checkpoint_body)
            .map_err(|_| Error::MalformedCheckpoint)?;
        let sig = self.raw_sign(checkpoint_body, timestamp);
        Signature::new(self.name.clone(), self.key_id, sig).map_err(|_| Error::InvalidKeyName)
    }

    fn raw_sign(&self, body: &[u8], timestamp: u64) -> Vec<u8> {
        let sig = self.key.sign(&cosigned_message(body, timestamp));
        let mut out = Vec::with_capacity(COSIGNATURE_LEN);
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&sig.to_bytes());
        out
    }
}

/// Lets [`signed_note::Note::add_sigs`] cosign a note; the timestamp is the current time.
impl signed_note::Signer for CosignatureSigner {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let t = now();
        if t == 0 || t > MAX_TIMESTAMP {
            return Err(ed25519_dalek::SignatureError::new());
        }
        Ok(self.raw_sign(msg, t))
    }
}

/// A witness's public key, for verifying its cosignature/v1 signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CosignatureVerifier")
            .field(&self.vkey())
            .finish()
    }
}

impl CosignatureVerifier {
    /// Parses a vkey with signature type 0x04.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let (parsed, key) = parse_vkey(vkey.trim())?;
        if parsed.alg != ALG_COSIGNATURE_V1 {
            return Err(Error::UnsupportedKeyType(parsed.alg));
        }
        Ok(Self {
            name: parsed.name.to_owned(),
            key_id: parsed.id,
            key,
        })
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, self.key.as_bytes())
    }

    /// The key name (the cosigner's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Whether a signature line claims to be from this key (same name and key ID).
    pub fn matches(&self, sig: &Signature) -> bool {
        sig.name() == self.name && sig.id() == self.key_id
    }

    /// Verifies one cosignature (the bytes after the key ID) over a checkpoint note text;
    /// returns its timestamp.
    pub fn verify_signature(&self, checkpoint_body: &[u8], sig: &[u8]) -> Result<u64, Error> {
        if sig.len() != COSIGNATURE_LEN {
            return Err(Error::MalformedSignature {
                name: self.name.clone(),
            });
        }
        let (ts, ed) = sig.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::TimestampOutOfRange);
        }
        let ed =
            ed25519_dalek::Signature::from_slice(ed).map_err(|_| Error::MalformedSignature {
                name: self.name.clone(),
            })?;
        self.key
            .verify(&cosigned_message(checkpoint_body, timestamp), &ed)
            .map_err(|_| Error::InvalidSignature {
                name: self.name.clone(),
            })?;
        Ok(timestamp)
    }

    /// Verifies this key's cosignature on a signed checkpoint note and returns its timestamp.
    ///
    /// Signature lines from other keys are ignored. Every line that matches this key's name
    /// and ID must verify (a bad one rejects the note, per signed-note); at least one must be
    /// present. The note text must be a well-formed checkpoint.
    pub fn verify(&self, checkpoint_note: &[u8]) -> Result<u64, Error> {
        let note = split_note(checkpoint_note)?;
        tlog_tiles::Checkpoint::from_bytes(note.text).map_err(|_| Error::MalformedCheckpoint)?;
        let mut found = None;
        for sig in note.sigs.iter().filter(|s| self.matches(s)) {
            let t = self.verify_signature(note.text, sig.signature())?;
            found.get_or_insert(t);
        }
        found.ok_or_else(|| Error::MissingSignature {
            name: self.name.clone(),
        })
    }
}

/// Lets [`signed_note::Note::verify`] check cosignatures (the timestamp is not returned).
impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify_signature(msg, sig).is_ok()
    }
}

/// A log's checkpoint verifier key: signed-note Ed25519 (`0x01`, what most logs use today) or
/// cosignature/v1 (`0x04`, a log may sign its own checkpoints as a cosigner).
#[derive(Clone, PartialEq, Eq)]
pub struct LogVerifier {
    name: String,
    key_id: u32,
    alg: u8,
    key: VerifyingKey,
}

impl fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LogVerifier").field(&self.vkey()).finish()
    }
}

impl LogVerifier {
    /// Parses a vkey of type 0x01 or 0x04.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let (parsed, key) = parse_vkey(vkey.trim())?;
        Ok(Self {
            name: parsed.name.to_owned(),
            key_id: parsed.id,
            alg: parsed.alg,
            key,
        })
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        format_vkey(&self.name, self.alg, self.key.as_bytes())
    }

    /// The key name (usually the log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type byte (0x01 or 0x04).
    pub fn alg(&self) -> u8 {
        self.alg
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Whether a signature line claims to be from this key (same name and key ID).
    pub fn matches(&self, sig: &Signature) -> bool {
        sig.name() == self.name && sig.id() == self.key_id
    }

    /// Verifies a signature (the bytes after the key ID) over a note text.
    pub fn verify_signature(&self, text: &[u8], sig: &[u8]) -> bool {
        match self.alg {
            ALG_COSIGNATURE_V1 => CosignatureVerifier {
                name: self.name.clone(),
                key_id: self.key_id,
                key: self.key,
            }
            .verify_signature(text, sig)
            .is_ok(),
            _ => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| self.key.verify(text, &s).is_ok()),
        }
    }
}

impl signed_note::Verifier for LogVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify_signature(msg, sig)
    }
}
