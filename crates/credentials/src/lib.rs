//! # headcount-credentials
//!
//! Blindly issued BBS credentials and per-campaign pseudonyms for headcount.
//!
//! Standards: draft-irtf-cfrg-bbs-signatures (ciphersuite `BLS12-381-SHA-256`),
//! draft-irtf-cfrg-bbs-blind-signatures and draft-irtf-cfrg-bbs-per-verifier-linkability
//! (blind issuance with a prover nym and signer nym entropy, `ProofGenWithNym` /
//! `ProofVerifyWithNym`), in the versions implemented by `zkryptium` 0.8.0, whose test vectors
//! are those of the drafts' fixture data (checked in this crate's tests).
//! All operations use the pseudonym interface, i.e. `api_id = API_ID_NYM =
//! "BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_PSEUDONYM_"`.
//! `zkryptium` is an implementation detail: no type of it appears in this API.
//!
//! ## Flow
//!
//! ```text
//! declarant                                   registrar (sk, pk)
//! nym = NymSecret::from_key_material(km)
//! (req, state) = request_credential(&nym)  ── req ──▶  sig = issue(sk, req, attrs)
//! cred = finish_credential(pk, sig, state, nym, attrs) ◀── sig ──
//! (pseudonym, proof) = cred.prove(pk, campaign_id, body_hash)   ──▶ anyone: verify(...)
//! ```
//!
//! ## Message layout (normative)
//!
//! An auditor in another language must reproduce exactly the following.
//!
//! * **Signature header** (the BBS `header`, signed at issuance and bound into every proof):
//!   the 23 ASCII octets [`SIGNATURE_HEADER`] = `"headcount-credential-v1"`. As the nym draft
//!   prescribes, the header actually hashed into the domain is
//!   `header || I2OSP(1, 8)` (one nym secret).
//! * **Signer messages** (`messages`, L = 2, both always disclosed), octet strings mapped to
//!   scalars with the ciphersuite's `MapMessageToScalarAsHash` (`hash_to_scalar(msg,
//!   API_ID_NYM || "MAP_MSG_TO_SCALAR_AS_HASH_")`):
//!   * `messages[0]` = the registrar id, its 32 raw octets;
//!   * `messages[1]` = the issuance period (calendar month, months since 1970-01), `I2OSP(period, 4)` (4 octets, big-endian).
//! * **Committed messages**: none (M = 0).
//! * **Prover nyms**: a vector of exactly one scalar, `prover_nym`, derived from the wallet's
//!   32 octets of key material `km` as `hash_to_scalar(km, "HEADCOUNT_V1_PROVER_NYM_")`
//!   (the draft's `hash_to_scalar`: `expand_message_xmd` with SHA-256 to 48 octets, `OS2IP
//!   mod r`). A zero result is rejected.
//! * **Signer nym entropy**: `hash_to_scalar(64 random octets, "HEADCOUNT_V1_SIGNER_NYM_ENTROPY_")`,
//!   fresh per issuance. The credential's `nym_secret = prover_nym + signer_nym_entropy (mod r)`.
//! * **Pseudonym proof**: `ProofGenWithNym` with `context_id` = the 32-octet scope (campaign id),
//!   `ph` = the 32-octet presentation header, `disclosed_indexes = [0, 1]`,
//!   `disclosed_commitment_indexes = []`. The pseudonym is `hash_to_curve_g1(context_id,
//!   API_ID_NYM) * nym_secret`.
//!
//! ## Byte encodings (all exact lengths; anything else is rejected)
//!
//! | type | bytes | layout |
//! |---|---|---|
//! | [`RegistrarSecretKey`] | 32 | `SK`, big-endian scalar, `0 < SK < r` |
//! | [`RegistrarPublicKey`] | 96 | compressed G2 point, in the subgroup, not the identity |
//! | [`IssuanceRequest`] | [`REQUEST_LEN`] = 144 | the draft's `commitment_with_proof`: `C` (G1, 48) ‖ `s^` ‖ `m^` (the prover nym's response) ‖ `challenge` (scalars, 32 each) |
//! | [`IssuanceState`] | [`STATE_LEN`] = 32 | `secret_prover_blind` |
//! | [`BlindSignature`] | [`BLIND_SIGNATURE_LEN`] = 112 | BBS signature `A` (G1, 48) ‖ `e` (32) ‖ `signer_nym_entropy` (32) |
//! | [`Credential`] | [`CREDENTIAL_LEN`] = 180 | `registrar_id` (32) ‖ `I2OSP(period, 4)` ‖ signature (80) ‖ `secret_prover_blind` (32) ‖ `nym_secret` (32) |
//! | [`Pseudonym`] | [`PSEUDONYM_LEN`] = 48 | compressed G1 point, in the subgroup, not the identity |
//! | [`PseudonymProof`] | [`PROOF_LEN`] = 336 | `Abar` ‖ `Bbar` ‖ `D` (G1, 48 each) ‖ `e^` ‖ `r1^` ‖ `r3^` ‖ `m^(prover_blind)` ‖ `m^(nym_secret)` ‖ `challenge` (scalars, 32 each) |
//!
//! Scalars are 32-octet big-endian integers that must be `< r`; secret scalars must also be
//! non-zero. Points use the ZCash compressed encoding, and the identity is always rejected.
//!
//! ## Hardening
//!
//! `zkryptium` 0.8 panics on short input, ignores trailing bytes and can underflow on truncated
//! proofs. Every decoder here checks the exact length and the flag bits / scalar range before
//! any byte reaches `zkryptium`, and every `zkryptium` call runs under `catch_unwind`, returning
//! [`Error::Internal`] if it panics anyway. `issue` refuses empty or malformed commitments
//! (an empty commitment would let the registrar know the whole nym secret).
//!
//! Randomness: `zkryptium` draws its commitment blinding and proof randomness from
//! `rand::thread_rng()` (OS-seeded ChaCha); the `rng` arguments are used for key generation and
//! signer nym entropy and are kept in the API for a future backend that takes them everywhere.

#![deny(missing_docs)]

mod backend;
pub mod reference;
mod verifier;

pub use verifier::{Presentation, Verifier};

use core::fmt;

use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The BBS header signed into every credential.
pub const SIGNATURE_HEADER: &[u8] = b"headcount-credential-v1";
/// Domain separation tag deriving the prover nym from wallet key material.
pub const PROVER_NYM_DST: &[u8] = b"HEADCOUNT_V1_PROVER_NYM_";
/// Domain separation tag deriving the signer nym entropy from 64 random octets.
pub const SIGNER_NYM_ENTROPY_DST: &[u8] = b"HEADCOUNT_V1_SIGNER_NYM_ENTROPY_";

const SCALAR_LEN: usize = 32;
const G1_LEN: usize = 48;
const G2_LEN: usize = 96;
const BBS_SIGNATURE_LEN: usize = G1_LEN + SCALAR_LEN;

/// Length of a [`RegistrarSecretKey`] encoding.
pub const SECRET_KEY_LEN: usize = SCALAR_LEN;
/// Length of a [`RegistrarPublicKey`] encoding.
pub const PUBLIC_KEY_LEN: usize = G2_LEN;
/// Length of an [`IssuanceRequest`] encoding.
pub const REQUEST_LEN: usize = G1_LEN + 3 * SCALAR_LEN;
/// Length of an [`IssuanceState`] encoding.
pub const STATE_LEN: usize = SCALAR_LEN;
/// Length of a [`BlindSignature`] encoding.
pub const BLIND_SIGNATURE_LEN: usize = BBS_SIGNATURE_LEN + SCALAR_LEN;
/// Length of a [`Credential`] encoding.
pub const CREDENTIAL_LEN: usize = 32 + 4 + BBS_SIGNATURE_LEN + 2 * SCALAR_LEN;
/// Length of a [`Pseudonym`] encoding.
pub const PSEUDONYM_LEN: usize = G1_LEN;
/// Length of a [`PseudonymProof`] encoding (two undisclosed messages: the prover blind and the
/// nym secret).
pub const PROOF_LEN: usize = 3 * G1_LEN + 3 * SCALAR_LEN + 2 * SCALAR_LEN + SCALAR_LEN;

/// Errors. None of them carries secret material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encoding had the wrong length.
    #[error("{what}: expected {expected} bytes, got {got}")]
    InvalidLength {
        /// Which encoding.
        what: &'static str,
        /// The only accepted length.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// Not a valid registrar secret key.
    #[error("invalid registrar secret key")]
    InvalidSecretKey,
    /// Not a valid registrar public key.
    #[error("invalid registrar public key")]
    InvalidPublicKey,
    /// Not a valid nym secret.
    #[error("invalid nym secret")]
    InvalidNymSecret,
    /// The issuance request (commitment with proof) is malformed or its proof is wrong.
    #[error("invalid issuance request")]
    InvalidIssuanceRequest,
    /// The issuance state is malformed.
    #[error("invalid issuance state")]
    InvalidState,
    /// The blind signature is malformed or does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The credential is malformed or does not match the public key.
    #[error("invalid credential")]
    InvalidCredential,
    /// Not a valid pseudonym.
    #[error("invalid pseudonym")]
    InvalidPseudonym,
    /// The pseudonym proof is malformed or does not verify.
    #[error("invalid pseudonym proof")]
    InvalidProof,
    /// The cryptographic backend failed unexpectedly (including a caught panic).
    #[error("internal error in the BBS backend")]
    Internal,
}

// ---------------------------------------------------------------------------------------------
// Encoding checks (first line of defence)
// ---------------------------------------------------------------------------------------------

/// The BLS12-381 group order r, big-endian.
const R_BE: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

/// `a < r`, in constant time.
fn scalar_lt_r(a: &[u8; 32]) -> Choice {
    let mut borrow: i16 = 0;
    for i in (0..32).rev() {
        let d = i16::from(a[i]) - i16::from(R_BE[i]) - borrow;
        borrow = (d >> 15) & 1;
    }
    Choice::from(borrow as u8)
}

fn is_canonical_scalar(a: &[u8; 32]) -> bool {
    bool::from(scalar_lt_r(a))
}

fn is_nonzero_canonical_scalar(a: &[u8; 32]) -> bool {
    bool::from(scalar_lt_r(a) & !a.ct_eq(&[0u8; 32]))
}

fn exact<const N: usize>(what: &'static str, bytes: &[u8]) -> Result<[u8; N], Error> {
    bytes.try_into().map_err(|_| Error::InvalidLength {
        what,
        expected: N,
        got: bytes.len(),
    })
}

fn arr<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Compressed flag set, infinity flag clear (the identity is rejected).
pub(crate) fn point_flags_ok(first: u8) -> bool {
    first & 0x80 != 0 && first & 0x40 == 0
}

/// Point checks use blst (the same decoder as the verifier); [`reference`] keeps
/// zkryptium's, for the differential tests.
fn g1_ok(bytes: &[u8; G1_LEN]) -> bool {
    verifier::decode_g1(bytes).is_some()
}

fn g2_ok(bytes: &[u8; G2_LEN]) -> bool {
    verifier::decode_g2(bytes).is_some()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// A registrar's BBS secret key. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RegistrarSecretKey {
    sk: [u8; SCALAR_LEN],
    pk: [u8; G2_LEN],
}

impl RegistrarSecretKey {
    /// A fresh key: `KeyGen(key_material)` of the BBS draft with 32 random octets of key
    /// material, the empty `key_info` and the default `key_dst`.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let mut ikm = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(ikm.as_mut());
            if let Ok((sk, pk)) = backend::keygen(&ikm)
                && is_nonzero_canonical_scalar(&sk)
            {
                let key = Self { sk, pk };
                let mut sk = sk;
                sk.zeroize();
                return key;
            }
        }
    }

    /// The public key.
    pub fn public_key(&self) -> RegistrarPublicKey {
        RegistrarPublicKey(self.pk)
    }

    /// The 32-octet big-endian encoding.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        Zeroizing::new(self.sk)
    }

    /// Decodes exactly 32 octets, `0 < SK < r`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let sk = Zeroizing::new(exact::<SECRET_KEY_LEN>("registrar secret key", bytes)?);
        if !is_nonzero_canonical_scalar(&sk) {
            return Err(Error::InvalidSecretKey);
        }
        let pk = backend::sk_to_pk(&sk).map_err(|_| Error::InvalidSecretKey)?;
        Ok(Self { sk: *sk, pk })
    }
}

impl ConstantTimeEq for RegistrarSecretKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.sk.ct_eq(&other.sk)
    }
}

impl fmt::Debug for RegistrarSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrarSecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A registrar's BBS public key (compressed G2 point).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegistrarPublicKey([u8; PUBLIC_KEY_LEN]);

impl RegistrarPublicKey {
    /// Decodes exactly 96 octets: a valid compressed G2 point in the subgroup, not the identity.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = exact::<PUBLIC_KEY_LEN>("registrar public key", bytes)?;
        if !g2_ok(&b) {
            return Err(Error::InvalidPublicKey);
        }
        Ok(Self(b))
    }

    /// The 96-octet encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0
    }

    /// The 96-octet encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for RegistrarPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistrarPublicKey({})", hex(&self.0))
    }
}

// ---------------------------------------------------------------------------------------------
// Declarant secret
// ---------------------------------------------------------------------------------------------

/// The declarant's nym secret input (`prover_nym`, a non-zero scalar). Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NymSecret([u8; SCALAR_LEN]);

impl NymSecret {
    /// Derives the prover nym from 32 octets of key material (e.g. Argon2id output):
    /// `hash_to_scalar(key_material, PROVER_NYM_DST)`.
    pub fn from_key_material(key_material: &[u8; 32]) -> Result<Self, Error> {
        let s = Zeroizing::new(
            backend::hash_to_scalar_be(key_material, PROVER_NYM_DST)
                .map_err(|_| Error::InvalidNymSecret)?,
        );
        if !is_nonzero_canonical_scalar(&s) {
            return Err(Error::InvalidNymSecret);
        }
        Ok(Self(*s))
    }

    /// A nym secret from 32 fresh random octets of key material.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let mut km = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(km.as_mut());
            if let Ok(n) = Self::from_key_material(&km) {
                return n;
            }
        }
    }
}

impl ConstantTimeEq for NymSecret {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for NymSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NymSecret(<redacted>)")
    }
}

// ---------------------------------------------------------------------------------------------
// Issuance
// ---------------------------------------------------------------------------------------------

/// The signer-known, always-disclosed attributes of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// The registrar id (32 octets).
    pub registrar_id: [u8; 32],
    /// The issuance period: the calendar month of issuance, months since January 1970 (the core's `Period`).
    pub period: u32,
}

impl Attributes {
    /// The BBS signer messages: `[registrar_id, I2OSP(period, 4)]`.
    pub(crate) fn messages(&self) -> Vec<Vec<u8>> {
        vec![
            self.registrar_id.to_vec(),
            self.period.to_be_bytes().to_vec(),
        ]
    }
}

/// What the declarant sends to the registrar: a Pedersen commitment to its nym secret with
/// a proof of knowledge (`commitment_with_proof`).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuanceRequest([u8; REQUEST_LEN]);

impl IssuanceRequest {
    /// The [`REQUEST_LEN`]-octet encoding.
    pub fn to_bytes(&self) -> [u8; REQUEST_LEN] {
        self.0
    }

    /// Decodes exactly [`REQUEST_LEN`] octets: a non-identity G1 point and three scalars `< r`.
    /// The proof itself is checked by [`issue`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = exact::<REQUEST_LEN>("issuance request", bytes)?;
        if !g1_ok(&arr::<G1_LEN>(&b))
            || !b[G1_LEN..]
                .chunks_exact(SCALAR_LEN)
                .all(|c| is_canonical_scalar(&arr::<SCALAR_LEN>(c)))
        {
            return Err(Error::InvalidIssuanceRequest);
        }
        Ok(Self(b))
    }
}

impl fmt::Debug for IssuanceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuanceRequest({})", hex(&self.0))
    }
}

/// The declarant's secret blinding state between request and finish. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct IssuanceState {
    prover_blind: [u8; SCALAR_LEN],
}

impl IssuanceState {
    /// The [`STATE_LEN`]-octet encoding (secret).
    pub fn to_bytes(&self) -> Zeroizing<[u8; STATE_LEN]> {
        Zeroizing::new(self.prover_blind)
    }

    /// Decodes exactly [`STATE_LEN`] octets: a non-zero scalar `< r`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = Zeroizing::new(exact::<STATE_LEN>("issuance state", bytes)?);
        if !is_nonzero_canonical_scalar(&b) {
            return Err(Error::InvalidState);
        }
        Ok(Self { prover_blind: *b })
    }
}

impl ConstantTimeEq for IssuanceState {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.prover_blind.ct_eq(&other.prover_blind)
    }
}

impl fmt::Debug for IssuanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuanceState(<redacted>)")
    }
}

/// Declarant, step 1: commit to the nym secret (`Commit` with nym, no committed messages,
/// one prover nym). Randomness comes from the backend's OS-seeded generator (see crate docs).
pub fn request_credential<R: RngCore + CryptoRng>(
    nym: &NymSecret,
    _rng: &mut R,
) -> Result<(IssuanceRequest, IssuanceState), Error> {
    loop {
        let (c, blind) = backend::commit_with_nym(&nym.0)?;
        let blind = Zeroizing::new(blind);
        let req = IssuanceRequest::from_bytes(&c).map_err(|_| Error::Internal)?;
        // A zero blind happens with probability 2^-254; draw again rather than fail.
        if is_nonzero_canonical_scalar(&blind) {
            return Ok((
                req,
                IssuanceState {
                    prover_blind: *blind,
                },
            ));
        }
    }
}

/// The registrar's answer: the BBS blind signature and the signer nym entropy.
#[derive(Clone, PartialEq, Eq)]
pub struct BlindSignature {
    signature: [u8; BBS_SIGNATURE_LEN],
    signer_nym_entropy: [u8; SCALAR_LEN],
}

impl BlindSignature {
    /// The [`BLIND_SIGNATURE_LEN`]-octet encoding.
    pub fn to_bytes(&self) -> [u8; BLIND_SIGNATURE_LEN] {
        let mut out = [0u8; BLIND_SIGNATURE_LEN];
        out[..BBS_SIGNATURE_LEN].copy_from_slice(&self.signature);
        out[BBS_SIGNATURE_LEN..].copy_from_slice(&self.signer_nym_entropy);
        out
    }

    /// Decodes exactly [`BLIND_SIGNATURE_LEN`] octets (point and scalar checks; the signature
    /// itself is verified by [`finish_credential`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = exact::<BLIND_SIGNATURE_LEN>("blind signature", bytes)?;
        let signature = arr::<BBS_SIGNATURE_LEN>(&b);
        let signer_nym_entropy = arr::<SCALAR_LEN>(&b[BBS_SIGNATURE_LEN..]);
        if !bbs_signature_ok(&signature) || !is_canonical_scalar(&signer_nym_entropy) {
            return Err(Error::InvalidSignature);
        }
        Ok(Self {
            signature,
            signer_nym_entropy,
        })
    }
}

impl fmt::Debug for BlindSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindSignature({})", hex(&self.to_bytes()))
    }
}

fn bbs_signature_ok(sig: &[u8; BBS_SIGNATURE_LEN]) -> bool {
    g1_ok(&arr::<G1_LEN>(sig)) && is_nonzero_canonical_scalar(&arr::<SCALAR_LEN>(&sig[G1_LEN..]))
}

/// Registrar: verify the commitment proof and sign blindly (`BlindSignWithNym`), adding fresh
/// signer nym entropy. Rejects empty, malformed or unproven commitments.
pub fn issue<R: RngCore + CryptoRng>(
    sk: &RegistrarSecretKey,
    req: &IssuanceRequest,
    attrs: &Attributes,
    rng: &mut R,
) -> Result<BlindSignature, Error> {
    // Re-check: never let an empty or identity commitment reach the signer, since zkryptium
    // treats "" as "no commitment" and would sign a nym secret the registrar knows.
    let req = IssuanceRequest::from_bytes(&req.0)?;
    let entropy = loop {
        let mut seed = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(seed.as_mut());
        let e = Zeroizing::new(backend::hash_to_scalar_be(
            seed.as_ref(),
            SIGNER_NYM_ENTROPY_DST,
        )?);
        if is_nonzero_canonical_scalar(&e) {
            break e;
        }
    };
    let signature = backend::blind_sign_with_nym(
        &sk.sk,
        &req.0,
        SIGNATURE_HEADER,
        &entropy,
        &attrs.messages(),
    )?;
    if !bbs_signature_ok(&signature) {
        return Err(Error::Internal);
    }
    Ok(BlindSignature {
        signature,
        signer_nym_entropy: *entropy,
    })
}

// ---------------------------------------------------------------------------------------------
// Credential and pseudonyms
// ---------------------------------------------------------------------------------------------

/// A finished credential, held by the declarant. Zeroized on drop; `Debug` prints only the
/// attributes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Credential {
    registrar_id: [u8; 32],
    period: u32,
    signature: [u8; BBS_SIGNATURE_LEN],
    prover_blind: [u8; SCALAR_LEN],
    nym_secret: [u8; SCALAR_LEN],
}

/// Declarant, step 2: verify the blind signature (`VerifyFinalizeWithNym`) and build the
/// credential.
pub fn finish_credential(
    pk: &RegistrarPublicKey,
    sig: &BlindSignature,
    state: IssuanceState,
    nym: &NymSecret,
    attrs: &Attributes,
) -> Result<Credential, Error> {
    let nym_secret = Zeroizing::new(backend::verify_finalize_with_nym(
        &pk.0,
        &sig.signature,
        SIGNATURE_HEADER,
        &attrs.messages(),
        &nym.0,
        &sig.signer_nym_entropy,
        &state.prover_blind,
    )?);
    if !is_nonzero_canonical_scalar(&nym_secret) {
        return Err(Error::InvalidSignature);
    }
    Ok(Credential {
        registrar_id: attrs.registrar_id,
        period: attrs.period,
        signature: sig.signature,
        prover_blind: state.prover_blind,
        nym_secret: *nym_secret,
    })
}

impl Credential {
    /// The disclosed attributes.
    pub fn attributes(&self) -> Attributes {
        Attributes {
            registrar_id: self.registrar_id,
            period: self.period,
        }
    }

    /// A pseudonym proof (`ProofGenWithNym`) for `scope` (the campaign id) with presentation
    /// header `header`, disclosing the registrar id and period. The same credential always
    /// yields the same pseudonym for the same scope.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        pk: &RegistrarPublicKey,
        scope: &[u8; 32],
        header: &[u8; 32],
        _rng: &mut R,
    ) -> Result<(Pseudonym, PseudonymProof), Error> {
        let (proof, nym) = backend::proof_gen_with_nym(
            &pk.0,
            &self.signature,
            SIGNATURE_HEADER,
            header,
            &self.nym_secret,
            scope,
            &self.attributes().messages(),
            &self.prover_blind,
        )?;
        let nym = Pseudonym::from_bytes(&nym).map_err(|_| Error::Internal)?;
        let proof = PseudonymProof::from_bytes(&proof).map_err(|_| Error::Internal)?;
        Ok((nym, proof))
    }

    /// The [`CREDENTIAL_LEN`]-octet encoding (secret).
    pub fn to_bytes(&self) -> Zeroizing<[u8; CREDENTIAL_LEN]> {
        let mut out = Zeroizing::new([0u8; CREDENTIAL_LEN]);
        let mut at = 0;
        for part in [
            &self.registrar_id[..],
            &self.period.to_be_bytes()[..],
            &self.signature[..],
            &self.prover_blind[..],
            &self.nym_secret[..],
        ] {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out
    }

    /// Decodes exactly [`CREDENTIAL_LEN`] octets (encoding checks only; a credential that does
    /// not match the key fails in [`Credential::prove`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = Zeroizing::new(exact::<CREDENTIAL_LEN>("credential", bytes)?);
        let c = Self {
            registrar_id: arr::<32>(&b[..32]),
            period: u32::from_be_bytes(arr::<4>(&b[32..36])),
            signature: arr::<BBS_SIGNATURE_LEN>(&b[36..]),
            prover_blind: arr::<SCALAR_LEN>(&b[36 + BBS_SIGNATURE_LEN..]),
            nym_secret: arr::<SCALAR_LEN>(&b[36 + BBS_SIGNATURE_LEN + SCALAR_LEN..]),
        };
        if !bbs_signature_ok(&c.signature)
            || !is_nonzero_canonical_scalar(&c.prover_blind)
            || !is_nonzero_canonical_scalar(&c.nym_secret)
        {
            return Err(Error::InvalidCredential);
        }
        Ok(c)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("attributes", &self.attributes())
            .finish_non_exhaustive()
    }
}

/// A per-scope pseudonym (compressed G1 point).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym([u8; PSEUDONYM_LEN]);

impl Pseudonym {
    /// Decodes exactly 48 octets: a valid compressed G1 point in the subgroup, not the identity.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = exact::<PSEUDONYM_LEN>("pseudonym", bytes)?;
        if !g1_ok(&b) {
            return Err(Error::InvalidPseudonym);
        }
        Ok(Self(b))
    }

    /// The 48-octet encoding.
    pub fn to_bytes(&self) -> [u8; PSEUDONYM_LEN] {
        self.0
    }

    /// The 48-octet encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; PSEUDONYM_LEN] {
        &self.0
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({})", hex(&self.0))
    }
}

/// A pseudonym proof ([`PROOF_LEN`] octets).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PseudonymProof(Vec<u8>);

impl PseudonymProof {
    /// Decodes exactly [`PROOF_LEN`] octets: three non-identity G1 points and six scalars `< r`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let b = exact::<PROOF_LEN>("pseudonym proof", bytes)?;
        let points_ok = b[..3 * G1_LEN]
            .chunks_exact(G1_LEN)
            .all(|p| g1_ok(&arr::<G1_LEN>(p)));
        let scalars_ok = b[3 * G1_LEN..]
            .chunks_exact(SCALAR_LEN)
            .all(|s| is_canonical_scalar(&arr::<SCALAR_LEN>(s)));
        if !points_ok || !scalars_ok {
            return Err(Error::InvalidProof);
        }
        Ok(Self(b.to_vec()))
    }

    /// The encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.clone()
    }

    /// The encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PseudonymProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PseudonymProof({})", hex(&self.0))
    }
}

/// Verifies a pseudonym proof (`ProofVerifyWithNym`) for `scope`, presentation header
/// `header`, disclosed `attrs`, and pseudonym `nym`, under the registrar key `pk`, with the
/// process-wide [`Verifier`] (blst; its caches make repeated keys, attributes and scopes free).
pub fn verify(
    pk: &RegistrarPublicKey,
    scope: &[u8; 32],
    header: &[u8; 32],
    attrs: &Attributes,
    nym: &Pseudonym,
    proof: &PseudonymProof,
) -> Result<(), Error> {
    Verifier::global().verify(&Presentation {
        public_key: &pk.0,
        scope,
        header,
        attributes: *attrs,
        pseudonym: &nym.0,
        proof: &proof.0,
    })
}

/// Verifies many proofs with the process-wide [`Verifier`] (see [`Verifier::verify_batch`]):
/// one verdict per item, in order.
pub fn verify_batch(items: &[Presentation<'_>]) -> Vec<Result<(), Error>> {
    Verifier::global().verify_batch(items)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn scalar_range() {
        assert!(is_canonical_scalar(&[0u8; 32]));
        assert!(!is_nonzero_canonical_scalar(&[0u8; 32]));
        let mut r_minus_1 = R_BE;
        r_minus_1[31] = 0;
        assert!(is_nonzero_canonical_scalar(&r_minus_1));
        assert!(!is_canonical_scalar(&R_BE));
        assert!(!is_canonical_scalar(&[0xff; 32]));
        let mut r_plus = R_BE;
        r_plus[0] = 0x74;
        r_plus[31] = 0;
        assert!(!is_canonical_scalar(&r_plus));
    }

    #[test]
    fn sizes() {
        assert_eq!(REQUEST_LEN, 144);
        assert_eq!(BLIND_SIGNATURE_LEN, 112);
        assert_eq!(CREDENTIAL_LEN, 180);
        assert_eq!(PROOF_LEN, 336);
    }
}
