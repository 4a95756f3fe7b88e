//! The wallet contents (the plaintext of a slot), and the file format version 1, which is
//! still read (and rewritten as version 2, [`crate::slots`], on the next save). See the crate
//! README for the normative description.
//!
//! Version 1 (one identity, no slots):
//!
//! ```text
//! offset len  field
//!      0   8  magic "HCWALLET"
//!      8   1  version = 0x01  (Argon2id v0x13 + HKDF-SHA256 + XChaCha20-Poly1305)
//!      9   4  m_cost_kib  u32 big-endian
//!     13   4  t_cost      u32 big-endian
//!     17   4  p_cost      u32 big-endian
//!     21  16  salt        (random at creation, fixed for the identity)
//!     37  24  nonce       (random for every save)
//!     61   …  XChaCha20-Poly1305(key = file_key, nonce, aad = bytes 0..61, contents) ‖ tag(16)
//! ```

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use headcount_credentials::{
    CREDENTIAL_LEN, Credential, IssuanceRequest, IssuanceState, PUBLIC_KEY_LEN, REQUEST_LEN,
    RegistrarPublicKey, STATE_LEN,
};
use zeroize::Zeroizing;

use crate::Error;
use crate::kdf::{Identity, Params, SALT_LEN};
use crate::records::{PendingEntry, PendingIssuance, Receipt, ReceiptKind, StoredCredential};

/// The 8-byte magic.
pub const MAGIC: &[u8; 8] = b"HCWALLET";
/// The older file format version, still read.
pub const VERSION_1: u8 = 1;
/// The file format version written.
pub use crate::slots::VERSION;
/// The XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 24;
/// Version 1 header length (the associated data).
pub const HEADER_LEN_V1: usize = 8 + 1 + 12 + SALT_LEN + NONCE_LEN;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// The contents (plaintext) version inside the ciphertext.
pub const CONTENTS_VERSION: u8 = 2;
/// Slot plaintexts are a multiple of this (version 1 padded its plaintext to a multiple).
pub const PAD_BLOCK: usize = 64 * 1024;
/// Largest wallet file read.
pub const MAX_FILE_LEN: usize = 64 * 1024 * 1024;

/// Fields of the clear version 1 header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub params: Params,
    pub salt: [u8; SALT_LEN],
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    /// Parses the header. A wrong magic or version is reported as such (that says nothing
    /// about the passphrase); everything else that is wrong is `WrongPassphraseOrCorrupt`.
    pub(crate) fn decode(file: &[u8]) -> Result<Self, Error> {
        if file.len() < 8 || &file[..8] != MAGIC {
            return Err(Error::NotAWallet);
        }
        if file.len() < 9 {
            return Err(Error::WrongPassphraseOrCorrupt);
        }
        if file[8] != VERSION_1 {
            return Err(Error::UnsupportedVersion(file[8]));
        }
        if file.len() < HEADER_LEN_V1 + TAG_LEN {
            return Err(Error::WrongPassphraseOrCorrupt);
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([file[i], file[i + 1], file[i + 2], file[i + 3]]);
        let params = Params {
            m_cost_kib: u32_at(9),
            t_cost: u32_at(13),
            p_cost: u32_at(17),
        };
        params
            .validate()
            .map_err(|_| Error::WrongPassphraseOrCorrupt)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&file[21..37]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&file[37..61]);
        Ok(Self {
            params,
            salt,
            nonce,
        })
    }
}

/// The decrypted contents.
#[derive(Default)]
pub(crate) struct Contents {
    pub credentials: Vec<StoredCredential>,
    pub pending: Vec<PendingIssuance>,
    pub receipts: Vec<Receipt>,
    pub pending_entries: Vec<PendingEntry>,
    /// Public documents kept for offline use (campaign packets), opaque to this crate. A
    /// trailing section: files written before it existed end in zero padding, read as none.
    pub documents: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

const CRED_REC: usize = 32 + 4 + PUBLIC_KEY_LEN + CREDENTIAL_LEN;
const PENDING_REC: usize = 32 + 32 + 1 + 4 + 32 + REQUEST_LEN + STATE_LEN;
const RECEIPT_FIXED: usize = 32 + 32 + 8 + 1 + 4 + 4;
const PENDING_ENTRY_FIXED: usize = 32 + 1 + 8 + 4;

fn len_u32(n: usize) -> Result<[u8; 4], Error> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| Error::TooLarge)
}

impl Contents {
    pub(crate) fn encoded_len(&self) -> usize {
        1 + 4
            + self.credentials.len() * CRED_REC
            + 4
            + self.pending.len() * PENDING_REC
            + 4
            + self
                .receipts
                .iter()
                .map(|r| RECEIPT_FIXED + r.tlog_proof.len() + r.entry.len())
                .sum::<usize>()
            + 4
            + self
                .pending_entries
                .iter()
                .map(|e| PENDING_ENTRY_FIXED + e.entry.len())
                .sum::<usize>()
            + 4
            + self.documents.iter().map(|d| 4 + d.len()).sum::<usize>()
    }

    /// Encodes and zero-pads to exactly `padded` bytes (a slot's length), in a buffer that
    /// never reallocates (no stray plaintext copies in freed memory). [`Error::WalletFull`]
    /// if the contents do not fit.
    pub(crate) fn encode(&self, padded: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
        let len = self.encoded_len();
        if len > padded {
            return Err(Error::WalletFull);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(padded));
        out.push(CONTENTS_VERSION);
        out.extend_from_slice(&len_u32(self.credentials.len())?);
        for c in &self.credentials {
            let a = c.attributes();
            out.extend_from_slice(&a.registrar_id);
            out.extend_from_slice(&a.period.to_be_bytes());
            out.extend_from_slice(c.registrar_public_key().as_bytes());
            out.extend_from_slice(c.credential().to_bytes().as_ref());
        }
        out.extend_from_slice(&len_u32(self.pending.len())?);
        for p in &self.pending {
            out.extend_from_slice(&p.request_id);
            out.extend_from_slice(&p.registrar_id);
            out.push(u8::from(p.period.is_some()));
            out.extend_from_slice(&p.period.map_or(0, |p| p.0).to_be_bytes());
            out.extend_from_slice(&p.prover_key_material);
            out.extend_from_slice(&p.request.to_bytes());
            out.extend_from_slice(p.state.to_bytes().as_ref());
        }
        out.extend_from_slice(&len_u32(self.receipts.len())?);
        for r in &self.receipts {
            out.extend_from_slice(&r.campaign_id);
            out.extend_from_slice(&r.entry_hash);
            out.extend_from_slice(&r.leaf_index.to_be_bytes());
            out.push(r.kind as u8);
            out.extend_from_slice(&len_u32(r.tlog_proof.len())?);
            out.extend_from_slice(r.tlog_proof.as_bytes());
            out.extend_from_slice(&len_u32(r.entry.len())?);
            out.extend_from_slice(&r.entry);
        }
        out.extend_from_slice(&len_u32(self.pending_entries.len())?);
        for e in &self.pending_entries {
            out.extend_from_slice(&e.campaign_id);
            out.push(e.kind as u8);
            out.extend_from_slice(&e.created.to_be_bytes());
            out.extend_from_slice(&len_u32(e.entry.len())?);
            out.extend_from_slice(&e.entry);
        }
        out.extend_from_slice(&len_u32(self.documents.len())?);
        for d in &self.documents {
            out.extend_from_slice(&len_u32(d.len())?);
            out.extend_from_slice(d);
        }
        debug_assert_eq!(out.len(), len);
        out.resize(padded, 0);
        Ok(out)
    }

    /// Decodes authenticated plaintext. Failure here means a writer bug or a newer format.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, Error> {
        let mut r = Reader(b);
        if r.u8()? != CONTENTS_VERSION {
            return Err(Error::InvalidContents);
        }
        let mut c = Contents::default();
        for _ in 0..r.count(CRED_REC)? {
            let registrar_id = r.take(32)?;
            let period = r.u32()?;
            let pk = RegistrarPublicKey::from_bytes(r.take(PUBLIC_KEY_LEN)?)?;
            let cred = Credential::from_bytes(r.take(CREDENTIAL_LEN)?)?;
            let a = cred.attributes();
            if a.registrar_id[..] != *registrar_id || a.period != period {
                return Err(Error::InvalidContents);
            }
            c.credentials.push(StoredCredential::new(pk, cred));
        }
        for _ in 0..r.count(PENDING_REC)? {
            let request_id = r.arr32()?;
            let registrar_id = r.arr32()?;
            let flag = r.u8()?;
            let period = r.u32()?;
            let period = match (flag, period) {
                (0, 0) => None,
                (1, p) => Some(headcount_core::Period(p)),
                _ => return Err(Error::InvalidContents),
            };
            let prover_key_material = r.arr32()?;
            let request = IssuanceRequest::from_bytes(r.take(REQUEST_LEN)?)?;
            let state = IssuanceState::from_bytes(r.take(STATE_LEN)?)?;
            c.pending.push(PendingIssuance {
                request_id,
                registrar_id,
                period,
                prover_key_material,
                request,
                state,
            });
        }
        for _ in 0..r.count(RECEIPT_FIXED)? {
            let campaign_id = r.arr32()?;
            let entry_hash = r.arr32()?;
            let leaf_index =
                u64::from_be_bytes(r.take(8)?.try_into().map_err(|_| Error::InvalidContents)?);
            let kind = ReceiptKind::from_u8(r.u8()?).ok_or(Error::InvalidContents)?;
            let n = r.u32()? as usize;
            let tlog_proof =
                String::from_utf8(r.take(n)?.to_vec()).map_err(|_| Error::InvalidContents)?;
            let n = r.u32()? as usize;
            let entry = r.take(n)?.to_vec();
            c.receipts.push(Receipt {
                campaign_id,
                entry_hash,
                leaf_index,
                kind,
                tlog_proof,
                entry,
            });
        }
        for _ in 0..r.count(PENDING_ENTRY_FIXED)? {
            let campaign_id = r.arr32()?;
            let kind = ReceiptKind::from_u8(r.u8()?).ok_or(Error::InvalidContents)?;
            let created =
                u64::from_be_bytes(r.take(8)?.try_into().map_err(|_| Error::InvalidContents)?);
            let n = r.u32()? as usize;
            let entry = r.take(n)?.to_vec();
            c.pending_entries.push(PendingEntry {
                campaign_id,
                kind,
                created,
                entry,
            });
        }
        // Optional trailing section (older files: zero padding, or nothing, here).
        if r.0.len() >= 4 {
            for _ in 0..r.count(4)? {
                let n = r.u32()? as usize;
                c.documents
                    .push(zeroize::Zeroizing::new(r.take(n)?.to_vec()));
            }
        }
        if r.0.iter().any(|&x| x != 0) {
            return Err(Error::InvalidContents);
        }
        Ok(c)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::InvalidContents);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn arr32(&mut self) -> Result<[u8; 32], Error> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }
    /// A record count, bounded by what the remaining bytes can hold.
    fn count(&mut self, min_record: usize) -> Result<usize, Error> {
        let n = self.u32()? as usize;
        if n > self.0.len() / min_record {
            return Err(Error::InvalidContents);
        }
        Ok(n)
    }
}

/// Authenticates and decrypts a whole version 1 file. The returned plaintext is zeroized on
/// drop.
pub(crate) fn open_v1(
    identity: &Identity,
    header: &Header,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (aad, ct) = file.split_at(HEADER_LEN_V1);
    let mut buf = Zeroizing::new(Vec::with_capacity(ct.len()));
    buf.extend_from_slice(ct);
    let cipher = XChaCha20Poly1305::new(<&Key>::from(identity.file_key()));
    cipher
        .decrypt_in_place(<&XNonce>::from(&header.nonce), aad, &mut *buf)
        .map_err(|_| Error::WrongPassphraseOrCorrupt)?;
    Ok(buf)
}
