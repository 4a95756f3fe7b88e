//! Fixed-base scalar multiplication for the points every proof under a key, attribute set or
//! scope multiplies: `Bv`, the two blind generators, and `OP`. The table holds `k·2^(w·j)·P`
//! for every `w`-bit digit value `k` and digit position `j`, so `s·P` is `256/w` additions
//! and no doublings (against ~255 doublings for a variable-base multiplication).
//!
//! Two sizes: 8-bit digits (8,160 points, 783 KB, 32 additions) for the two global blind
//! generators, built once; 4-bit digits (960 points, 92 KB, 64 additions, built in about a
//! millisecond) for the per-scope and per-attributes points, of which a server may see many.
//! Public data only (the table lookups are not constant time).

use blstrs::{G1Affine, G1Projective, Scalar};
use group::{Curve, Group};

pub(crate) struct FixedBase {
    bits: usize,
    table: Vec<G1Affine>,
}

impl FixedBase {
    /// A table with `bits`-bit digits (4 or 8).
    pub(crate) fn new(p: G1Projective, bits: usize) -> Self {
        let bits = if bits >= 8 { 8 } else { 4 };
        let row = (1usize << bits) - 1;
        let rows = 256 / bits;
        let mut proj = Vec::with_capacity(row * rows);
        let mut base = p;
        for _ in 0..rows {
            let mut acc = base;
            for _ in 0..row {
                proj.push(acc);
                acc += base;
            }
            // acc = 2^bits · base
            base = acc;
        }
        let mut table = vec![G1Affine::default(); proj.len()];
        G1Projective::batch_normalize(&proj, &mut table);
        Self { bits, table }
    }

    pub(crate) fn mul(&self, s: &Scalar) -> G1Projective {
        let row = (1usize << self.bits) - 1;
        let mut acc = G1Projective::identity();
        let mut add = |j: usize, k: usize| {
            if k != 0 {
                acc += self.table[j * row + k - 1];
            }
        };
        for (i, &byte) in s.to_bytes_le().iter().enumerate() {
            if self.bits == 8 {
                add(i, usize::from(byte));
            } else {
                add(2 * i, usize::from(byte & 0x0f));
                add(2 * i + 1, usize::from(byte >> 4));
            }
        }
        acc
    }
}

/// A point multiplied in the challenge: plain, or with a fixed-base table.
pub(crate) enum Base<'a> {
    /// Used by the fixtures, whose layouts vary.
    #[cfg_attr(not(test), allow(dead_code))]
    Plain(G1Projective),
    Table(&'a FixedBase),
}

impl Base<'_> {
    pub(crate) fn mul(&self, s: &Scalar) -> G1Projective {
        match self {
            Base::Plain(p) => p * s,
            Base::Table(t) => t.mul(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use rand_core::OsRng;

    #[test]
    fn table_matches_plain_multiplication() {
        let p = G1Projective::random(OsRng);
        for bits in [4, 8] {
            let t = FixedBase::new(p, bits);
            let mut edge = vec![
                Scalar::ZERO,
                Scalar::ONE,
                -Scalar::ONE,
                Scalar::from(15u64),
                Scalar::from(16u64),
                Scalar::from(256u64),
            ];
            edge.extend((0..32).map(|_| Scalar::random(OsRng)));
            for s in edge {
                assert_eq!(t.mul(&s), p * s, "{bits}-bit digits");
                assert_eq!(Base::Table(&t).mul(&s), Base::Plain(p).mul(&s));
            }
            assert!(t.table.iter().all(|a| bool::from(a.is_on_curve())));
        }
    }
}
