//! The ciphersuite primitives the verifier needs, on `blstrs`: BLS12-381-SHA-256 with the
//! pseudonym `api_id` (draft-irtf-cfrg-bbs-signatures §6.2.2, draft-irtf-cfrg-bbs-per-verifier-
//! linkability). Public data only; nothing here handles a secret.
//!
//! * `expand_message_xmd` (RFC 9380 §5.3.1) with SHA-256 comes from the `elliptic-curve`
//!   crate; `hash_to_curve_g1` (RFC 9380, `BLS12381G1_XMD:SHA-256_SSWU_RO_`) from blst.
//! * Checked against the drafts' fixtures in `tests/fixtures.rs` (hash_to_scalar,
//!   MapMessageToScalarAsHash, generators, and every nym proof).

use blstrs::{G1Affine, G1Projective, Scalar};
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use ff::Field;
use group::Curve;
use sha2::Sha256;

/// `api_id` of every operation (the pseudonym interface).
pub(crate) const API_ID_NYM: &[u8] = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_PSEUDONYM_";
const EXPAND_LEN: usize = 48;

/// `P1` of the BLS12-381-SHA-256 ciphersuite (draft-irtf-cfrg-bbs-signatures §6.2.2).
const P1: [u8; 48] = [
    0xa8, 0xce, 0x25, 0x61, 0x02, 0x84, 0x08, 0x21, 0xa3, 0xe9, 0x4e, 0xa9, 0x02, 0x5e, 0x46, 0x62,
    0xb2, 0x05, 0x76, 0x2f, 0x97, 0x76, 0xb3, 0xa7, 0x66, 0xc8, 0x72, 0xb9, 0x48, 0xf1, 0xfd, 0x22,
    0x5e, 0x7c, 0x59, 0x69, 0x85, 0x88, 0xe7, 0x0d, 0x11, 0x40, 0x6d, 0x16, 0x1b, 0x4e, 0x28, 0xc9,
];

/// `I2OSP(n, 8)`.
pub(crate) fn i2osp8(n: usize) -> [u8; 8] {
    (n as u64).to_be_bytes()
}

/// `expand_message_xmd(msg, dst, 48)` with SHA-256. `None` only for a DST the RFC forbids
/// (never the case for the constant DSTs used here).
fn expand48(msg: &[&[u8]], dst: &[u8]) -> Option<[u8; EXPAND_LEN]> {
    let dsts = [dst];
    let mut out = [0u8; EXPAND_LEN];
    ExpandMsgXmd::<Sha256>::expand_message(msg, &dsts, EXPAND_LEN)
        .ok()?
        .fill_bytes(&mut out);
    Some(out)
}

/// `OS2IP(bytes) mod r` for 48 octets: `a·2^256 + b·2^128 + c` with 16-octet limbs, each of
/// which is below `r`.
fn scalar_from_okm(okm: &[u8; EXPAND_LEN]) -> Scalar {
    let limb = |i: usize| {
        let mut be = [0u8; 32];
        be[16..].copy_from_slice(&okm[16 * i..16 * i + 16]);
        // A 128-bit value is always below r (255 bits).
        Option::<Scalar>::from(Scalar::from_bytes_be(&be)).unwrap_or(Scalar::ZERO)
    };
    let two_128 = {
        let mut be = [0u8; 32];
        be[15] = 1;
        Option::<Scalar>::from(Scalar::from_bytes_be(&be)).unwrap_or(Scalar::ZERO)
    };
    (limb(0) * two_128 + limb(1)) * two_128 + limb(2)
}

/// `hash_to_scalar(msg, dst)`: `expand_message_xmd(msg, dst, 48)`, `OS2IP mod r`.
pub(crate) fn hash_to_scalar(msg: &[&[u8]], dst: &[u8]) -> Option<Scalar> {
    expand48(msg, dst).map(|okm| scalar_from_okm(&okm))
}

/// `MapMessageToScalarAsHash(msg, api_id)`.
pub(crate) fn map_message(msg: &[u8], api_id: &[u8]) -> Option<Scalar> {
    hash_to_scalar(&[msg], &[api_id, b"MAP_MSG_TO_SCALAR_AS_HASH_"].concat())
}

/// `hash_to_curve_g1(msg, dst)`.
pub(crate) fn hash_to_curve(msg: &[u8], dst: &[u8]) -> G1Projective {
    G1Projective::hash_to_curve(msg, dst, &[])
}

/// `create_generators(count, api_id)`.
pub(crate) fn create_generators(count: usize, api_id: &[u8]) -> Option<Vec<G1Projective>> {
    let seed_dst = [api_id, b"SIG_GENERATOR_SEED_"].concat();
    let generator_dst = [api_id, b"SIG_GENERATOR_DST_"].concat();
    let generator_seed = [api_id, b"MESSAGE_GENERATOR_SEED"].concat();
    let mut v = expand48(&[&generator_seed], &seed_dst)?;
    let mut out = Vec::with_capacity(count);
    for i in 1..=count {
        v = expand48(&[&v, &i2osp8(i)], &seed_dst)?;
        out.push(hash_to_curve(&v, &generator_dst));
    }
    Some(out)
}

/// The fixed points of a proof with two disclosed signer messages, no committed messages and
/// one prover nym: `P1`, `Q1`, `H1`, `H2` (signer generators) and `J1`, `J2` (the blind
/// generators of the prover blind and the nym secret), in the order `ProofVerifyWithNym`
/// appends them.
#[derive(Clone, Debug)]
pub(crate) struct Generators {
    pub p1: G1Affine,
    /// `[Q1, H1, H2, J1, J2]`, as hashed into the domain.
    pub values: [G1Affine; 5],
}

impl Generators {
    pub(crate) fn new() -> Option<Self> {
        let p1 = Option::<G1Affine>::from(G1Affine::from_compressed(&P1))?;
        let mut all = create_generators(3, API_ID_NYM)?;
        all.extend(create_generators(2, &[b"BLIND_", API_ID_NYM].concat())?);
        let mut values = [G1Affine::default(); 5];
        G1Projective::batch_normalize(&all, &mut values);
        Some(Self { p1, values })
    }
}

/// `calculate_domain(PK, Q1, H_points, header, api_id)`; `generators` = `[Q1, H_1, …, H_L]`.
pub(crate) fn domain(
    pk: &[u8; 96],
    generators: &[G1Affine],
    header: &[u8],
    api_id: &[u8],
) -> Option<Scalar> {
    let mut input = Vec::with_capacity(96 + 8 + 48 * generators.len() + 64 + header.len());
    input.extend_from_slice(pk);
    input.extend_from_slice(&i2osp8(generators.len().saturating_sub(1)));
    for g in generators {
        input.extend_from_slice(&g.to_compressed());
    }
    input.extend_from_slice(api_id);
    input.extend_from_slice(&i2osp8(header.len()));
    input.extend_from_slice(header);
    hash_to_scalar(&[&input], &[api_id, b"H2S_"].concat())
}
