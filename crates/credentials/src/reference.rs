//! The reference verifier: `zkryptium`'s `ProofVerifyWithNym` behind the encoding checks the
//! crate applied before the fast verifier existed (exact lengths, flag bits, zkryptium's own
//! point validation, canonical scalars). It is slow (about ten times the fast path) and kept
//! only as the oracle of the differential tests and fuzz target, and as the baseline of the
//! benchmarks. Production code uses [`crate::verify`] / [`crate::Verifier`].

use crate::{
    Attributes, G1_LEN, PROOF_LEN, PSEUDONYM_LEN, PUBLIC_KEY_LEN, SCALAR_LEN, SIGNATURE_HEADER,
    backend, is_canonical_scalar, point_flags_ok,
};

/// `true` if zkryptium accepts the proof for these inputs, given as received octets.
pub fn verify(
    public_key: &[u8],
    scope: &[u8; 32],
    header: &[u8; 32],
    attributes: &Attributes,
    pseudonym: &[u8],
    proof: &[u8],
) -> bool {
    let Ok(pk) = <&[u8; PUBLIC_KEY_LEN]>::try_from(public_key) else {
        return false;
    };
    let Ok(nym) = <&[u8; PSEUDONYM_LEN]>::try_from(pseudonym) else {
        return false;
    };
    if proof.len() != PROOF_LEN
        || !point_flags_ok(pk[0])
        || !backend::g2_valid(pk)
        || !g1_ok(nym)
        || !proof[..3 * G1_LEN]
            .chunks_exact(G1_LEN)
            .all(|p| g1_ok(p.try_into().unwrap_or(&[0; G1_LEN])))
        || !proof[3 * G1_LEN..]
            .chunks_exact(SCALAR_LEN)
            .all(|s| is_canonical_scalar(s.try_into().unwrap_or(&[0xff; SCALAR_LEN])))
    {
        return false;
    }
    backend::proof_verify_with_nym(
        pk,
        proof,
        SIGNATURE_HEADER,
        header,
        nym,
        scope,
        &attributes.messages(),
    )
    .is_ok()
}

/// zkryptium's G1 decoding (flags first).
pub fn g1_valid(bytes: &[u8; G1_LEN]) -> bool {
    g1_ok(bytes)
}

/// zkryptium's G2 decoding (flags first).
pub fn g2_valid(bytes: &[u8; PUBLIC_KEY_LEN]) -> bool {
    point_flags_ok(bytes[0]) && backend::g2_valid(bytes)
}

fn g1_ok(bytes: &[u8; G1_LEN]) -> bool {
    point_flags_ok(bytes[0]) && backend::g1_valid(bytes)
}
