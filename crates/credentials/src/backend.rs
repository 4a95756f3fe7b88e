//! The only module that talks to `zkryptium`.
//!
//! Every function here takes byte strings whose lengths and encodings were already checked
//! by the callers in `lib.rs` (first line of defence), and runs the `zkryptium` call inside
//! [`guard`] (`catch_unwind`, last line of defence). No `zkryptium` type leaves this module.

use std::panic::{AssertUnwindSafe, catch_unwind};

use zkryptium::bbsplus::ciphersuites::Bls12381Sha256;
use zkryptium::bbsplus::commitment::BlindFactor;
use zkryptium::bbsplus::keys::{BBSplusPublicKey, BBSplusSecretKey};
use zkryptium::bbsplus::pseudonym::{BBSplusPseudonym, PseudonymSecret};
use zkryptium::keys::pair::KeyPair;
use zkryptium::schemes::algorithms::BbsBls12381Sha256 as Bbs;
use zkryptium::schemes::generics::{BlindSignature, Commitment, PoKSignature};
use zkryptium::utils::util::bbsplus_utils::hash_to_scalar;

use crate::Error;

type Cs = Bls12381Sha256;

/// Runs `f`, turning a panic inside `zkryptium` into [`Error::Internal`].
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Error::Internal))
}

/// `hash_to_scalar(msg, dst)` of the BBS draft (expand_message_xmd SHA-256, 48 bytes, mod r),
/// serialized big-endian.
pub(crate) fn hash_to_scalar_be(msg: &[u8], dst: &[u8]) -> Result<[u8; 32], Error> {
    guard(|| {
        let s = hash_to_scalar::<Cs>(msg, dst).map_err(|_| Error::Internal)?;
        Ok(PseudonymSecret::from_bytes(&s.to_be_bytes())
            .map_err(|_| Error::Internal)?
            .to_bytes())
    })
}

/// KeyGen(key_material, "", default key_dst) of the BBS draft. Returns (SK, PK).
pub(crate) fn keygen(ikm: &[u8; 32]) -> Result<([u8; 32], [u8; 96]), Error> {
    guard(|| {
        let kp = KeyPair::<Bbs>::generate(ikm, None, None).map_err(|_| Error::Internal)?;
        Ok((kp.private_key().to_bytes(), kp.public_key().to_bytes()))
    })
}

/// SkToPk.
pub(crate) fn sk_to_pk(sk: &[u8; 32]) -> Result<[u8; 96], Error> {
    guard(|| {
        let sk = BBSplusSecretKey::from_bytes(sk).map_err(|_| Error::InvalidSecretKey)?;
        Ok(sk.public_key().to_bytes())
    })
}

/// Is this 96-byte string a valid compressed G2 point in the prime-order subgroup?
pub(crate) fn g2_valid(bytes: &[u8; 96]) -> bool {
    guard(|| BBSplusPublicKey::from_bytes(bytes).map_err(|_| Error::Internal)).is_ok()
}

/// Is this 48-byte string a valid compressed G1 point in the prime-order subgroup?
pub(crate) fn g1_valid(bytes: &[u8; 48]) -> bool {
    guard(|| BBSplusPseudonym::from_bytes(bytes).map_err(|_| Error::Internal)).is_ok()
}

/// `Commit` with nym (per-verifier-linkability draft) over no committed messages and one
/// prover nym. Returns (commitment_with_proof, secret_prover_blind).
pub(crate) fn commit_with_nym(prover_nym: &[u8; 32]) -> Result<(Vec<u8>, [u8; 32]), Error> {
    guard(|| {
        let nym = PseudonymSecret::from_bytes(prover_nym).map_err(|_| Error::InvalidNymSecret)?;
        let (c, blind) = Commitment::<Bbs>::commit_with_nym(Some(&[]), vec![nym])
            .map_err(|_| Error::Internal)?;
        Ok((c.to_bytes(), blind.to_bytes()))
    })
}

/// `BlindSignWithNym` with a length-1 nym vector.
pub(crate) fn blind_sign_with_nym(
    sk: &[u8; 32],
    commitment_with_proof: &[u8],
    header: &[u8],
    signer_nym_entropy: &[u8; 32],
    messages: &[Vec<u8>],
) -> Result<[u8; 80], Error> {
    guard(|| {
        let sk = BBSplusSecretKey::from_bytes(sk).map_err(|_| Error::InvalidSecretKey)?;
        let pk = sk.public_key();
        let entropy =
            PseudonymSecret::from_bytes(signer_nym_entropy).map_err(|_| Error::Internal)?;
        let sig = BlindSignature::<Bbs>::blind_sign_with_nym(
            &sk,
            &pk,
            Some(commitment_with_proof),
            1,
            Some(header),
            &entropy,
            Some(messages),
        )
        .map_err(|_| Error::InvalidIssuanceRequest)?;
        Ok(sig.to_bytes())
    })
}

/// `VerifyFinalizeWithNym` with a length-1 nym vector. Returns the final nym_secret.
pub(crate) fn verify_finalize_with_nym(
    pk: &[u8; 96],
    signature: &[u8; 80],
    header: &[u8],
    messages: &[Vec<u8>],
    prover_nym: &[u8; 32],
    signer_nym_entropy: &[u8; 32],
    prover_blind: &[u8; 32],
) -> Result<[u8; 32], Error> {
    guard(|| {
        let pk = BBSplusPublicKey::from_bytes(pk).map_err(|_| Error::InvalidPublicKey)?;
        let sig =
            BlindSignature::<Bbs>::from_bytes(signature).map_err(|_| Error::InvalidSignature)?;
        let nym = PseudonymSecret::from_bytes(prover_nym).map_err(|_| Error::InvalidNymSecret)?;
        let entropy =
            PseudonymSecret::from_bytes(signer_nym_entropy).map_err(|_| Error::InvalidSignature)?;
        let blind = BlindFactor::from_bytes(prover_blind).map_err(|_| Error::InvalidState)?;
        let secrets = sig
            .verify_finalize_with_nym(
                &pk,
                Some(header),
                Some(messages),
                Some(&[]),
                vec![nym],
                Some(&entropy),
                Some(&blind),
            )
            .map_err(|_| Error::InvalidSignature)?;
        match secrets.as_slice() {
            [s] => Ok(s.to_bytes()),
            _ => Err(Error::Internal),
        }
    })
}

/// `ProofGenWithNym` disclosing every signer message, none of the committed ones.
/// Returns (proof, pseudonym).
#[allow(clippy::too_many_arguments)]
pub(crate) fn proof_gen_with_nym(
    pk: &[u8; 96],
    signature: &[u8; 80],
    header: &[u8],
    ph: &[u8],
    nym_secret: &[u8; 32],
    context_id: &[u8],
    messages: &[Vec<u8>],
    prover_blind: &[u8; 32],
) -> Result<(Vec<u8>, [u8; 48]), Error> {
    guard(|| {
        let pk = BBSplusPublicKey::from_bytes(pk).map_err(|_| Error::InvalidPublicKey)?;
        let nym = PseudonymSecret::from_bytes(nym_secret).map_err(|_| Error::InvalidCredential)?;
        let blind = BlindFactor::from_bytes(prover_blind).map_err(|_| Error::InvalidCredential)?;
        let disclosed: Vec<usize> = (0..messages.len()).collect();
        let (proof, pseudonym) = PoKSignature::<Bbs>::proof_gen_with_nym(
            &pk,
            signature,
            Some(header),
            Some(ph),
            &vec![nym],
            context_id,
            Some(messages),
            None,
            Some(&disclosed),
            None,
            Some(&blind),
        )
        .map_err(|_| Error::InvalidCredential)?;
        let nym_bytes: [u8; 48] = pseudonym
            .to_bytes()
            .try_into()
            .map_err(|_| Error::Internal)?;
        Ok((proof.to_bytes(), nym_bytes))
    })
}

/// `ProofVerifyWithNym` with every signer message disclosed and a length-1 nym vector.
pub(crate) fn proof_verify_with_nym(
    pk: &[u8; 96],
    proof: &[u8],
    header: &[u8],
    ph: &[u8],
    pseudonym: &[u8; 48],
    context_id: &[u8],
    messages: &[Vec<u8>],
) -> Result<(), Error> {
    guard(|| {
        let pk = BBSplusPublicKey::from_bytes(pk).map_err(|_| Error::InvalidPublicKey)?;
        let proof = PoKSignature::<Bbs>::from_bytes(proof).map_err(|_| Error::InvalidProof)?;
        let nym = BBSplusPseudonym::from_bytes(pseudonym).map_err(|_| Error::InvalidPseudonym)?;
        let disclosed: Vec<usize> = (0..messages.len()).collect();
        proof
            .proof_verify_with_nym(
                &pk,
                Some(header),
                Some(ph),
                &nym,
                context_id,
                1,
                Some(messages.len()),
                Some(messages),
                None,
                Some(&disclosed),
                None,
            )
            .map_err(|_| Error::InvalidProof)
    })
}
