//! Credentialed entries: BBS pseudonym proofs through `headcount-credentials`.
//!
//! [`BbsCredentials`] is the [`CredentialVerifier`] of a log that accepts
//! credentialed declarations; the builders make declarations, withdrawals
//! and claims from a declarant's credential.

use headcount_credentials as bbs;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::entry::{Declaration, Entry, Withdrawal};
use crate::error::{DecodeError, Rejection};
use crate::ids::{CampaignId, EntryHash, Pseudonym, RegistrarId};
use crate::period::Period;
use crate::state::{CredentialVerifier, ProofToVerify};
use crate::text::to_nfc;

/// Verifies BBS pseudonym proofs (BLS12-381-SHA-256). Every malformed input
/// — wrong lengths, invalid points, truncated proofs — is `invalid_proof`,
/// never a panic.
#[derive(Clone, Copy, Debug, Default)]
pub struct BbsCredentials;

impl CredentialVerifier for BbsCredentials {
    fn verify(
        &self,
        bbs_key: &[u8; 96],
        campaign: &CampaignId,
        header: &[u8; 32],
        registrar: &RegistrarId,
        period: Period,
        pseudonym: &Pseudonym,
        proof: &[u8],
    ) -> Result<(), Rejection> {
        let p = ProofToVerify {
            bbs_key,
            campaign,
            header,
            registrar,
            period,
            pseudonym,
            proof,
        };
        bbs::Verifier::global()
            .verify(&presentation(&p))
            .map_err(rejection)
    }

    /// Decoding and the challenge per proof; the pairing checks of the whole
    /// batch folded into one multi-pairing, bisected if it fails.
    fn verify_batch(&self, items: &[ProofToVerify<'_>]) -> Vec<Result<(), Rejection>> {
        let presentations: Vec<bbs::Presentation<'_>> = items.iter().map(presentation).collect();
        bbs::Verifier::global()
            .verify_batch(&presentations)
            .into_iter()
            .map(|r| r.map_err(rejection))
            .collect()
    }

    fn check_public_key(&self, bbs_key: &[u8; 96]) -> Result<(), Rejection> {
        bbs::RegistrarPublicKey::from_bytes(bbs_key)
            .map(|_| ())
            .map_err(|_| Rejection::InvalidKey)
    }
}

/// The verifier's input: the received octets (the verifier decodes them once).
fn presentation<'a>(p: &ProofToVerify<'a>) -> bbs::Presentation<'a> {
    bbs::Presentation {
        public_key: p.bbs_key,
        scope: &p.campaign.0,
        header: p.header,
        attributes: bbs::Attributes {
            registrar_id: p.registrar.0,
            period: p.period.0,
        },
        pseudonym: &p.pseudonym.0,
        proof: p.proof,
    }
}

/// An invalid key is `invalid_key`; anything else about a proof is `invalid_proof`.
fn rejection(e: bbs::Error) -> Rejection {
    match e {
        bbs::Error::InvalidPublicKey => Rejection::InvalidKey,
        _ => Rejection::InvalidProof,
    }
}

/// Why a credentialed entry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    #[error("credential: {0}")]
    Credential(#[from] bbs::Error),
    #[error("the credential was issued by registrar {credential}, not {expected}")]
    WrongRegistrar {
        credential: RegistrarId,
        expected: RegistrarId,
    },
}

fn attrs_of(credential: &bbs::Credential) -> (RegistrarId, Period) {
    let a = credential.attributes();
    (RegistrarId(a.registrar_id), Period(a.period))
}

/// Builds a declaration: the pseudonym proof's scope is the campaign id and
/// its presentation header commits to the rest of the body.
pub fn declaration<R: RngCore + CryptoRng>(
    credential: &bbs::Credential,
    registrar_key: &bbs::RegistrarPublicKey,
    campaign: CampaignId,
    predecessor: EntryHash,
    alias: &str,
    message: &str,
    rng: &mut R,
) -> Result<(Entry, Vec<u8>), BuildError> {
    let (registrar, period) = attrs_of(credential);
    let mut d = Declaration {
        campaign,
        pseudonym: Pseudonym([0; 48]),
        registrar,
        period,
        predecessor,
        alias: to_nfc(alias),
        message: to_nfc(message),
        proof: Vec::new(),
    };
    let (nym, proof) =
        credential.prove(registrar_key, &campaign.0, &d.presentation_header(), rng)?;
    d.pseudonym = Pseudonym(nym.to_bytes());
    d.proof = proof.to_bytes();
    Ok(Entry::Declaration(d).build()?)
}

/// Builds a withdrawal of the credential's declaration in `campaign`;
/// `predecessor` is the entry hash of that declaration (the pseudonym's
/// latest entry in the campaign).
pub fn withdrawal<R: RngCore + CryptoRng>(
    credential: &bbs::Credential,
    registrar_key: &bbs::RegistrarPublicKey,
    campaign: CampaignId,
    predecessor: EntryHash,
    rng: &mut R,
) -> Result<(Entry, Vec<u8>), BuildError> {
    let (registrar, period) = attrs_of(credential);
    let mut w = Withdrawal {
        campaign,
        pseudonym: Pseudonym([0; 48]),
        registrar,
        period,
        predecessor,
        proof: Vec::new(),
    };
    let (nym, proof) =
        credential.prove(registrar_key, &campaign.0, &w.presentation_header(), rng)?;
    w.pseudonym = Pseudonym(nym.to_bytes());
    w.proof = proof.to_bytes();
    Ok(Entry::Withdrawal(w).build()?)
}

/// Context of a claim's presentation header.
pub const CLAIM_CONTEXT: &[u8] = b"headcount claim v1\n";

/// The presentation header of a claim: SHA-256 of the context, the campaign
/// id and the verifier's challenge. A claim proof made for one challenge
/// does not verify for another.
pub fn claim_header(campaign: &CampaignId, challenge: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CLAIM_CONTEXT);
    h.update(campaign.0);
    h.update(challenge.as_bytes());
    h.finalize().into()
}

/// A fresh pseudonym proof for `campaign` whose header is the challenge: it
/// yields the same pseudonym as the declarant's declaration in that campaign.
pub fn claim_proof<R: RngCore + CryptoRng>(
    credential: &bbs::Credential,
    registrar_key: &bbs::RegistrarPublicKey,
    campaign: CampaignId,
    challenge: &str,
    rng: &mut R,
) -> Result<(Pseudonym, Vec<u8>), BuildError> {
    let (nym, proof) = credential.prove(
        registrar_key,
        &campaign.0,
        &claim_header(&campaign, challenge),
        rng,
    )?;
    Ok((Pseudonym(nym.to_bytes()), proof.to_bytes()))
}

/// Verifies a claim proof.
pub fn verify_claim(
    registrar_key: &[u8; 96],
    campaign: &CampaignId,
    challenge: &str,
    registrar: &RegistrarId,
    period: Period,
    pseudonym: &Pseudonym,
    proof: &[u8],
) -> Result<(), Rejection> {
    BbsCredentials.verify(
        registrar_key,
        campaign,
        &claim_header(campaign, challenge),
        registrar,
        period,
        pseudonym,
        proof,
    )
}
