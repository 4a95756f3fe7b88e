//! Fast verification of pseudonym proofs (`ProofVerifyWithNym`, draft-irtf-cfrg-bbs-per-
//! verifier-linkability) on `blstrs`/blst, byte-compatible with the `zkryptium` verifier used
//! for proving (differential tests in `tests/differential.rs`).
//!
//! What does not depend on the proof is computed once and cached in a [`Verifier`]: the
//! generators and `P1`; per registrar key its prepared G2 form and the `domain`; per (key,
//! disclosed attributes) the mapped messages and `Bv = P1 + Q1·domain + H1·m1 + H2·m2`; per
//! scope (campaign) `OP = hash_to_curve_g1(scope)`. Per proof there remain the point
//! decodings, three small multi-scalar multiplications (`T1`, `T2`, `Uv`), one hash, and the
//! pairing check `e(Abar, PK) · e(Bbar, −BP2) = 1`, which [`Verifier::verify_batch`] folds
//! for a whole batch into one multi-pairing with 128-bit random weights, finding bad proofs
//! by bisection.
//!
//! Only public data passes through here: no constant-time requirement applies.

mod batch;
mod challenge;
mod fixed;
#[cfg(test)]
mod fixtures;
pub(crate) mod suite;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, OnceLock, RwLock};

use blstrs::{G1Affine, G1Projective, G2Affine, G2Prepared, Scalar};
use group::prime::PrimeCurveAffine;

use crate::{
    Attributes, Error, G1_LEN, PROOF_LEN, PSEUDONYM_LEN, PUBLIC_KEY_LEN, SIGNATURE_HEADER,
    point_flags_ok,
};
use challenge::DecodedProof;
use fixed::{Base, FixedBase};
use suite::{API_ID_NYM, Generators, i2osp8};

/// One pseudonym proof to verify, as the bytes that arrived: the registrar's public key, the
/// scope (campaign id), the presentation header, the disclosed attributes, the pseudonym and
/// the proof. Decoding is part of verification (every encoding rule of the crate applies).
#[derive(Clone, Copy, Debug)]
pub struct Presentation<'a> {
    /// The registrar's BBS public key (compressed G2).
    pub public_key: &'a [u8; PUBLIC_KEY_LEN],
    /// The scope (`context_id`): the campaign id.
    pub scope: &'a [u8; 32],
    /// The presentation header (`ph`).
    pub header: &'a [u8; 32],
    /// The disclosed signer messages.
    pub attributes: Attributes,
    /// The pseudonym (must be [`PSEUDONYM_LEN`] octets).
    pub pseudonym: &'a [u8],
    /// The proof (must be [`PROOF_LEN`] octets).
    pub proof: &'a [u8],
}

/// Per registrar key: the prepared G2 point and the `domain` of every proof under it.
struct KeyState {
    bytes: [u8; PUBLIC_KEY_LEN],
    prepared: G2Prepared,
    domain: Scalar,
}

/// Per (key, attributes): the disclosed message scalars and `Bv` (as a fixed-base table).
struct Disclosed {
    messages: [Scalar; 2],
    bv: FixedBase,
}

/// A proof whose challenge matched; only the pairing check is left.
struct Checked {
    key: Arc<KeyState>,
    abar: G1Projective,
    bbar: G1Projective,
}

/// A bounded map: when full it is emptied (every entry is recomputable; the bound only keeps
/// hostile input from growing it without limit).
struct Cache<K, V> {
    map: RwLock<HashMap<K, V>>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            cap,
        }
    }

    fn get_or_try_insert(&self, k: &K, f: impl FnOnce() -> Result<V, Error>) -> Result<V, Error> {
        if let Some(v) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(k) {
            return Ok(v.clone());
        }
        let v = f()?;
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.cap {
            map.clear();
        }
        map.insert(k.clone(), v.clone());
        Ok(v)
    }
}

/// A prepared verifier holding the per-ciphersuite, per-key, per-attributes and per-scope
/// precomputation. Cheap to share (`&Verifier` across threads); [`Verifier::global`] is the
/// process-wide one that [`crate::verify`] uses.
pub struct Verifier {
    gens: Generators,
    neg_g2: G2Prepared,
    /// Tables of the two blind generators (the undisclosed messages' generators).
    blind: [FixedBase; 2],
    keys: Cache<[u8; PUBLIC_KEY_LEN], Arc<KeyState>>,
    disclosed: Cache<([u8; PUBLIC_KEY_LEN], Attributes), Arc<Disclosed>>,
    scopes: Cache<[u8; 32], Arc<FixedBase>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier with empty caches (computes the generators: about a millisecond).
    pub fn new() -> Self {
        // Invariant: the ciphersuite constants are valid (P1 decodes; hashing with the
        // constant DSTs cannot fail); the fixture tests show they are the drafts' values.
        let gens = Generators::new().expect("constant ciphersuite parameters");
        Self {
            blind: [
                FixedBase::new(gens.values[3].into(), 8),
                FixedBase::new(gens.values[4].into(), 8),
            ],
            gens,
            neg_g2: G2Prepared::from(-G2Affine::generator()),
            keys: Cache::new(1024),
            // 92 KB per table: at most ~47 MB each. A log has few (key, period) pairs and
            // open campaigns at a time; beyond the bound the cache restarts empty.
            disclosed: Cache::new(512),
            scopes: Cache::new(512),
        }
    }

    /// The process-wide verifier.
    pub fn global() -> &'static Verifier {
        static GLOBAL: OnceLock<Verifier> = OnceLock::new();
        GLOBAL.get_or_init(Verifier::new)
    }

    /// Verifies one proof: the same verdict as `ProofVerifyWithNym` of the drafts.
    pub fn verify(&self, p: &Presentation<'_>) -> Result<(), Error> {
        let c = self.check_challenge(p)?;
        if self.pairing_holds(&c) {
            Ok(())
        } else {
            Err(Error::InvalidProof)
        }
    }

    fn key(&self, bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Arc<KeyState>, Error> {
        self.keys.get_or_try_insert(bytes, || {
            let pk = decode_g2(bytes).ok_or(Error::InvalidPublicKey)?;
            Ok(Arc::new(KeyState {
                bytes: *bytes,
                prepared: G2Prepared::from(pk),
                domain: self.domain(bytes).ok_or(Error::Internal)?,
            }))
        })
    }

    /// `calculate_domain(PK, Q1, (H1..H4), header || I2OSP(1, 8), api_id)`, the four message
    /// generators being the two signer and two blind ones of `ProofVerifyWithNym`.
    fn domain(&self, pk: &[u8; PUBLIC_KEY_LEN]) -> Option<Scalar> {
        let header = [SIGNATURE_HEADER, &i2osp8(1)].concat();
        suite::domain(pk, &self.gens.values, &header, API_ID_NYM)
    }

    fn disclosed(&self, key: &KeyState, attrs: &Attributes) -> Result<Arc<Disclosed>, Error> {
        self.disclosed.get_or_try_insert(&(key.bytes, *attrs), || {
            let msgs = attrs.messages();
            let m1 = suite::map_message(&msgs[0], API_ID_NYM).ok_or(Error::Internal)?;
            let m2 = suite::map_message(&msgs[1], API_ID_NYM).ok_or(Error::Internal)?;
            let g = &self.gens.values;
            let bv = G1Projective::from(self.gens.p1) + g[0] * key.domain + g[1] * m1 + g[2] * m2;
            Ok(Arc::new(Disclosed {
                messages: [m1, m2],
                bv: FixedBase::new(bv, 4),
            }))
        })
    }

    fn scope_table(&self, scope: &[u8; 32]) -> Result<Arc<FixedBase>, Error> {
        self.scopes.get_or_try_insert(scope, || {
            Ok(Arc::new(FixedBase::new(
                suite::hash_to_curve(scope, API_ID_NYM),
                4,
            )))
        })
    }

    /// Decodes, recomputes `T1`, `T2`, `Uv` and the challenge, and compares it with the
    /// proof's: everything but the pairing check.
    fn check_challenge(&self, p: &Presentation<'_>) -> Result<Checked, Error> {
        let key = self.key(p.public_key)?;
        // Malformed input is refused before any per-scope or per-attributes precomputation.
        let nym_bytes: &[u8; PSEUDONYM_LEN] =
            p.pseudonym.try_into().map_err(|_| Error::InvalidLength {
                what: "pseudonym",
                expected: PSEUDONYM_LEN,
                got: p.pseudonym.len(),
            })?;
        let nym = decode_g1(nym_bytes).ok_or(Error::InvalidPseudonym)?;
        if p.proof.len() != PROOF_LEN {
            return Err(Error::InvalidLength {
                what: "pseudonym proof",
                expected: PROOF_LEN,
                got: p.proof.len(),
            });
        }
        let proof = DecodedProof::decode(p.proof)?;
        let disclosed = self.disclosed(&key, &p.attributes)?;
        let op = self.scope_table(p.scope)?;
        challenge::check(&challenge::Challenge {
            api_id: API_ID_NYM,
            domain: key.domain,
            bv: Base::Table(&disclosed.bv),
            disclosed: &[(0, disclosed.messages[0]), (1, disclosed.messages[1])],
            undisclosed_generators: &[Base::Table(&self.blind[0]), Base::Table(&self.blind[1])],
            proof: &proof,
            proof_bytes: p.proof,
            ph: p.header,
            nym: Some(challenge::Nym {
                op: Base::Table(&op),
                point: nym.into(),
                bytes: p.pseudonym,
                context_id: p.scope,
                count: 1,
            }),
        })?;
        Ok(Checked {
            key,
            abar: proof.abar,
            bbar: proof.bbar,
        })
    }
}

/// A compressed G1 point: compression flag set, not the identity, on the curve, in the
/// prime-order subgroup, and canonical (it re-encodes to the same octets, so the challenge,
/// which hashes the received octets, is over the one encoding the prover used).
pub(crate) fn decode_g1(bytes: &[u8; G1_LEN]) -> Option<G1Affine> {
    if !point_flags_ok(bytes[0]) {
        return None;
    }
    let p = Option::<G1Affine>::from(G1Affine::from_compressed(bytes))?;
    (p.to_compressed() == *bytes).then_some(p)
}

/// A compressed G2 point, with the same rules as [`decode_g1`].
pub(crate) fn decode_g2(bytes: &[u8; PUBLIC_KEY_LEN]) -> Option<G2Affine> {
    if !point_flags_ok(bytes[0]) {
        return None;
    }
    let p = Option::<G2Affine>::from(G2Affine::from_compressed(bytes))?;
    (p.to_compressed() == *bytes).then_some(p)
}
