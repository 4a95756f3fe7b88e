//! What the wallet holds: credentials, pending issuances, receipts. Every `Debug` is redacted:
//! even a campaign id or a count is what a seized wallet must not reveal.

use headcount_core::Period;
use headcount_credentials::{
    Attributes, Credential, IssuanceRequest, IssuanceState, RegistrarPublicKey,
};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroize;

/// A finished credential and the public key of the registrar that issued it.
#[derive(Clone)]
pub struct StoredCredential {
    registrar_public_key: RegistrarPublicKey,
    credential: Credential,
}

impl StoredCredential {
    /// Pairs a credential with its registrar's public key.
    pub fn new(registrar_public_key: RegistrarPublicKey, credential: Credential) -> Self {
        Self {
            registrar_public_key,
            credential,
        }
    }

    /// The registrar id (disclosed attribute 0).
    pub fn registrar_id(&self) -> [u8; 32] {
        self.credential.attributes().registrar_id
    }

    /// The calendar month of issuance (disclosed attribute 1).
    pub fn period(&self) -> Period {
        Period(self.credential.attributes().period)
    }

    /// Registrar id and period.
    pub fn attributes(&self) -> Attributes {
        self.credential.attributes()
    }

    /// The registrar's BBS public key.
    pub fn registrar_public_key(&self) -> &RegistrarPublicKey {
        &self.registrar_public_key
    }

    /// The credential (secret; zeroized on drop).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredCredential(<redacted>)")
    }
}

/// An issuance request sent to a registrar and not yet answered (offline request → issue →
/// finish flow). Holds the secret blinding state.
pub struct PendingIssuance {
    /// `SHA-256(request bytes)`: names the request in files exchanged with the registrar.
    pub request_id: [u8; 32],
    /// The registrar asked.
    pub registrar_id: [u8; 32],
    /// The month the declarant expects the credential to be issued in, if it said.
    pub period: Option<Period>,
    /// Fresh random key material of this request's prover nym: every credential has its own
    /// prover secret, so two credentials of one wallet share nothing a registrar could relate.
    pub prover_key_material: [u8; 32],
    /// The request sent (public, but linkable: kept only here).
    pub request: IssuanceRequest,
    /// The secret blinding state needed to finish.
    pub state: IssuanceState,
}

impl PendingIssuance {
    /// The request id of a request: `SHA-256(IssuanceRequest::to_bytes())`.
    pub fn request_id_of(request: &IssuanceRequest) -> [u8; 32] {
        Sha256::digest(request.to_bytes()).into()
    }
}

impl fmt::Debug for PendingIssuance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingIssuance(<redacted>)")
    }
}

impl Drop for PendingIssuance {
    fn drop(&mut self) {
        self.request_id.zeroize();
        self.registrar_id.zeroize();
        self.prover_key_material.zeroize();
    }
}

/// What kind of entry a receipt is for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReceiptKind {
    /// A declaration.
    Declaration = 1,
    /// A withdrawal.
    Withdrawal = 2,
}

impl ReceiptKind {
    pub(crate) fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Declaration),
            2 => Some(Self::Withdrawal),
            _ => None,
        }
    }
}

impl fmt::Debug for ReceiptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiptKind(<redacted>)")
    }
}

/// The log's answer to a submitted declaration or withdrawal, kept to claim it later.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The campaign id (32 octets).
    pub campaign_id: [u8; 32],
    /// The RFC 6962 leaf hash of the entry.
    pub entry_hash: [u8; 32],
    /// The leaf index in the log.
    pub leaf_index: u64,
    /// Declaration or withdrawal.
    pub kind: ReceiptKind,
    /// The `tlog-proof` text (inclusion proof + checkpoint) as received.
    pub tlog_proof: String,
    /// The entry bytes as logged.
    pub entry: Vec<u8>,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(<redacted>)")
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        self.campaign_id.zeroize();
        self.entry_hash.zeroize();
        self.leaf_index.zeroize();
        self.tlog_proof.zeroize();
        self.entry.zeroize();
    }
}

/// An entry made and stored *before* it is sent, so that a retry after a timeout resubmits the
/// same bytes (the log answers an identical entry with its first receipt) instead of making a
/// second, different entry. Removed when its receipt is stored or the log refuses it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// The campaign id (32 octets).
    pub campaign_id: [u8; 32],
    /// Declaration or withdrawal.
    pub kind: ReceiptKind,
    /// When it was made (Unix seconds).
    pub created: u64,
    /// The encoded entry.
    pub entry: Vec<u8>,
}

impl PendingEntry {
    /// SHA-256 of the entry: its entry hash, by which the log knows it.
    pub fn entry_hash(&self) -> [u8; 32] {
        Sha256::digest(&self.entry).into()
    }
}

impl fmt::Debug for PendingEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingEntry(<redacted>)")
    }
}

impl Drop for PendingEntry {
    fn drop(&mut self) {
        self.campaign_id.zeroize();
        self.created.zeroize();
        self.entry.zeroize();
    }
}
