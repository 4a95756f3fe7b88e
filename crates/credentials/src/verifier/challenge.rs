//! The proof-dependent half of `ProofVerify` / `ProofVerifyWithNym`: decode the proof,
//! recompute `T1`, `T2` (and `Uv` for a pseudonym) and the challenge, compare. General over
//! the layout (any number of disclosed and undisclosed messages and of nym secrets) so that
//! the drafts' fixtures run through the same code as the project's fixed layout.

use blstrs::{G1Affine, G1Projective, Scalar};
use group::{Curve, Group};

use super::decode_g1;
use super::fixed::Base;
use super::suite::{hash_to_scalar, i2osp8};
use crate::{Error, G1_LEN, SCALAR_LEN};

/// A decoded proof: `Abar`, `Bbar`, `D`, `e^`, `r1^`, `r3^`, `(m^_j)`, `challenge`.
pub(crate) struct DecodedProof {
    pub abar: G1Projective,
    pub bbar: G1Projective,
    pub d: G1Projective,
    pub e_hat: Scalar,
    pub r1_hat: Scalar,
    pub r3_hat: Scalar,
    pub m_hat: Vec<Scalar>,
    pub c: Scalar,
}

impl DecodedProof {
    /// `octets_to_proof`: three canonical subgroup points (never the identity) and at least
    /// four scalars, each `< r`; nothing left over.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, Error> {
        let points = 3 * G1_LEN;
        if b.len() < points + 4 * SCALAR_LEN || !(b.len() - points).is_multiple_of(SCALAR_LEN) {
            return Err(Error::InvalidProof);
        }
        let point = |i: usize| -> Result<G1Projective, Error> {
            let mut a = [0u8; G1_LEN];
            a.copy_from_slice(&b[i * G1_LEN..(i + 1) * G1_LEN]);
            decode_g1(&a)
                .map(G1Projective::from)
                .ok_or(Error::InvalidProof)
        };
        let scalars = b[points..]
            .chunks_exact(SCALAR_LEN)
            .map(|c| {
                let mut a = [0u8; SCALAR_LEN];
                a.copy_from_slice(c);
                Option::from(Scalar::from_bytes_be(&a)).ok_or(Error::InvalidProof)
            })
            .collect::<Result<Vec<Scalar>, Error>>()?;
        let (fixed, rest) = scalars.split_at(3);
        let (m_hat, c) = rest.split_at(rest.len() - 1);
        Ok(Self {
            abar: point(0)?,
            bbar: point(1)?,
            d: point(2)?,
            e_hat: fixed[0],
            r1_hat: fixed[1],
            r3_hat: fixed[2],
            m_hat: m_hat.to_vec(),
            c: c[0],
        })
    }
}

/// The pseudonym part of `ProofVerifyWithNym`.
pub(crate) struct Nym<'a> {
    /// `OP = hash_to_curve_g1(context_id, api_id)`.
    pub op: Base<'a>,
    /// The pseudonym.
    pub point: G1Projective,
    /// Its received octets.
    pub bytes: &'a [u8],
    pub context_id: &'a [u8],
    /// Number of nym secrets (the last `count` undisclosed messages).
    pub count: usize,
}

/// Everything the challenge depends on, precomputed where the caller can.
pub(crate) struct Challenge<'a> {
    pub api_id: &'a [u8],
    pub domain: Scalar,
    /// `Bv = P1 + Q1·domain + Σ_{i disclosed} H_i·m_i`.
    pub bv: Base<'a>,
    /// `(i, m_i)` for each disclosed message, in ascending `i`.
    pub disclosed: &'a [(usize, Scalar)],
    /// The generators of the undisclosed messages, in order (one per `m^`).
    pub undisclosed_generators: &'a [Base<'a>],
    pub proof: &'a DecodedProof,
    /// The received proof octets (its first three points are hashed as received).
    pub proof_bytes: &'a [u8],
    pub ph: &'a [u8],
    pub nym: Option<Nym<'a>>,
}

/// `ProofVerifyInit` (+ `PseudonymProofVerifyInit`) and the challenge comparison.
pub(crate) fn check(x: &Challenge<'_>) -> Result<(), Error> {
    let p = x.proof;
    if x.undisclosed_generators.len() != p.m_hat.len() {
        return Err(Error::InvalidProof);
    }
    // T1 has three variable points: blst's multi_exp (measured in `benches/verify.rs`, group
    // `msm`); the fixed points of T2 and Uv use tables, leaving one variable point each.
    let t1 = G1Projective::multi_exp(&[p.bbar, p.abar, p.d], &[p.c, p.e_hat, p.r1_hat]);
    let mut t2 = x.bv.mul(&p.c) + p.d * p.r3_hat;
    for (g, m) in x.undisclosed_generators.iter().zip(&p.m_hat) {
        t2 += g.mul(m);
    }

    let mut out = [G1Affine::default(); 3];
    let uv = match &x.nym {
        None => None,
        Some(n) => {
            if n.count == 0 || n.count > p.m_hat.len() {
                return Err(Error::InvalidProof);
            }
            let secrets = &p.m_hat[p.m_hat.len() - n.count..];
            // Σ m^_k · z^k (Horner is not needed for one secret, the common case).
            let mut poly = secrets[0];
            if n.count > 1 {
                let z = hash_to_scalar(&[n.context_id], &[x.api_id, b"VECT_NYM_SECRETS"].concat())
                    .ok_or(Error::Internal)?;
                let mut z_k = z;
                for s in &secrets[1..] {
                    poly += *s * z_k;
                    z_k *= z;
                }
            }
            let uv = n.op.mul(&poly) - n.point * p.c;
            if bool::from(uv.is_identity()) {
                return Err(Error::InvalidProof);
            }
            Some(uv)
        }
    };
    G1Projective::batch_normalize(&[t1, t2, uv.unwrap_or(G1Projective::identity())], &mut out);

    let mut c = Vec::with_capacity(8 + 40 * x.disclosed.len() + 7 * G1_LEN + 96 + x.ph.len());
    c.extend_from_slice(&i2osp8(x.disclosed.len()));
    for (i, m) in x.disclosed {
        c.extend_from_slice(&i2osp8(*i));
        c.extend_from_slice(&m.to_bytes_be());
    }
    c.extend_from_slice(&x.proof_bytes[..3 * G1_LEN]);
    c.extend_from_slice(&out[0].to_compressed());
    c.extend_from_slice(&out[1].to_compressed());
    if let Some(n) = &x.nym {
        c.extend_from_slice(n.bytes);
        c.extend_from_slice(&out[2].to_compressed());
    }
    c.extend_from_slice(&x.domain.to_bytes_be());
    c.extend_from_slice(&i2osp8(x.ph.len()));
    c.extend_from_slice(x.ph);
    if let Some(n) = &x.nym {
        c.extend_from_slice(&i2osp8(n.context_id.len()));
        c.extend_from_slice(n.context_id);
    }
    let challenge = hash_to_scalar(&[&c], &[x.api_id, b"H2S_"].concat()).ok_or(Error::Internal)?;
    if challenge == p.c {
        Ok(())
    } else {
        Err(Error::InvalidProof)
    }
}
