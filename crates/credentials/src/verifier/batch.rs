//! Batch verification: the pairing checks of many proofs folded into one multi-pairing.
//!
//! For proofs `i` with 128-bit random weights `r_i`, grouped by registrar key `k`:
//! `Π_k e(Σ_{i∈k} r_i·Abar_i, PK_k) · e(Σ_i r_i·Bbar_i, −BP2) = 1`. If every proof is valid
//! this holds; if any is not, it fails except with probability about 2^-128 (the weights are
//! drawn after the proofs are fixed). On failure the batch is bisected: a half that passes is
//! cleared, and when the left half passes the right one is known to fail without a check, so
//! one bad proof among n costs about log2(n) extra checks.

use blstrs::{Bls12, G1Affine, G1Projective, G2Prepared, Scalar};
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_core::{OsRng, RngCore};

use super::{Checked, Presentation, Verifier};
use crate::Error;

impl Verifier {
    /// Verifies many proofs; one verdict per item, in order, each the same as
    /// [`Verifier::verify`] would give (up to the 2^-128 soundness error of the random
    /// weights). Decoding or challenge failures are found per proof; the pairing checks of
    /// the rest are folded into one multi-pairing, and bisected on failure.
    pub fn verify_batch(&self, items: &[Presentation<'_>]) -> Vec<Result<(), Error>> {
        let mut out = Vec::with_capacity(items.len());
        let mut checked = Vec::with_capacity(items.len());
        let mut index = Vec::with_capacity(items.len());
        for (i, p) in items.iter().enumerate() {
            match self.check_challenge(p) {
                Ok(c) => {
                    out.push(Ok(()));
                    checked.push(c);
                    index.push(i);
                }
                Err(e) => out.push(Err(e)),
            }
        }
        match checked.len() {
            0 => {}
            1 => {
                if !self.pairing_holds(&checked[0]) {
                    out[index[0]] = Err(Error::InvalidProof);
                }
            }
            n => {
                let weights = random_weights(n);
                let all: Vec<usize> = (0..n).collect();
                let mut bad = Vec::new();
                self.bisect(&checked, &weights, &all, false, &mut bad);
                for b in bad {
                    out[index[b]] = Err(Error::InvalidProof);
                }
            }
        }
        out
    }

    /// Adds to `bad` the members of `set` whose pairing check fails. `known_bad`: the
    /// caller already knows that the weighted check of `set` fails.
    fn bisect(
        &self,
        checked: &[Checked],
        weights: &[Scalar],
        set: &[usize],
        known_bad: bool,
        bad: &mut Vec<usize>,
    ) {
        if set.is_empty() || (!known_bad && self.subset_holds(checked, weights, set)) {
            return;
        }
        if let [only] = set {
            bad.push(*only);
            return;
        }
        let (left, right) = set.split_at(set.len() / 2);
        if self.subset_holds(checked, weights, left) {
            self.bisect(checked, weights, right, true, bad);
        } else {
            self.bisect(checked, weights, left, true, bad);
            self.bisect(checked, weights, right, false, bad);
        }
    }

    fn subset_holds(&self, checked: &[Checked], weights: &[Scalar], set: &[usize]) -> bool {
        if let [only] = set {
            return self.pairing_holds(&checked[*only]);
        }
        let items: Vec<&Checked> = set.iter().map(|&i| &checked[i]).collect();
        let w: Vec<Scalar> = set.iter().map(|&i| weights[i]).collect();
        self.weighted_holds(&items, &w)
    }

    /// The unweighted check `e(Abar, PK) · e(Bbar, −BP2) = 1` of one proof.
    pub(super) fn pairing_holds(&self, c: &Checked) -> bool {
        let terms = [
            (&c.abar.to_affine(), &c.key.prepared),
            (&c.bbar.to_affine(), &self.neg_g2),
        ];
        bool::from(
            Bls12::multi_miller_loop(&terms)
                .final_exponentiation()
                .is_identity(),
        )
    }

    fn weighted_holds(&self, items: &[&Checked], weights: &[Scalar]) -> bool {
        // Group the Abar terms by key (a batch usually has one or a few registrars).
        let mut groups: Vec<KeyGroup<'_>> = Vec::new();
        for (c, w) in items.iter().zip(weights) {
            match groups.iter_mut().find(|g| *g.1 == c.key.bytes) {
                Some(g) => {
                    g.2.push(c.abar);
                    g.3.push(*w);
                }
                None => groups.push((&c.key.prepared, &c.key.bytes, vec![c.abar], vec![*w])),
            }
        }
        let bbars: Vec<G1Projective> = items.iter().map(|c| c.bbar).collect();
        let mut sums: Vec<G1Projective> = groups
            .iter()
            .map(|g| G1Projective::multi_exp(&g.2, &g.3))
            .collect();
        sums.push(G1Projective::multi_exp(&bbars, weights));
        let mut affine = vec![G1Affine::default(); sums.len()];
        G1Projective::batch_normalize(&sums, &mut affine);
        let mut terms: Vec<(&G1Affine, &G2Prepared)> =
            groups.iter().zip(&affine).map(|(g, a)| (a, g.0)).collect();
        terms.push((&affine[groups.len()], &self.neg_g2));
        bool::from(
            Bls12::multi_miller_loop(&terms)
                .final_exponentiation()
                .is_identity(),
        )
    }
}

/// A registrar key's prepared form and encoding, with its proofs' `Abar`s and weights.
type KeyGroup<'a> = (&'a G2Prepared, &'a [u8; 96], Vec<G1Projective>, Vec<Scalar>);

/// `n` non-zero 128-bit weights from the operating system's generator.
fn random_weights(n: usize) -> Vec<Scalar> {
    let mut bytes = vec![0u8; 16 * n];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut be = [0u8; 32];
            be[16..].copy_from_slice(c);
            be[31] |= 1; // non-zero; 127 bits of entropy
            // Invariant: a 128-bit value is below r.
            Option::from(Scalar::from_bytes_be(&be)).unwrap_or(Scalar::from(1u64))
        })
        .collect()
}
