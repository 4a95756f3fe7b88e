//! Differential tests: the fast verifier (`verify`, `Verifier::verify_batch`) and the
//! zkryptium reference (`reference::verify`) give the same verdict on thousands of valid
//! proofs and mutations of them: bit flips, truncations and extensions, swapped points,
//! identity points, flipped sign bits, non-canonical points and scalars, random bytes, and
//! proofs presented with the wrong pseudonym, scope, header, attributes or key. The typed
//! point decoders (blst) agree with zkryptium's on every mutated point.
//!
//! Size: `HEADCOUNT_DIFF_PROOFS` valid proofs (default 48), about 45 cases each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headcount_credentials::*;
use rand::rngs::{OsRng, StdRng};
use rand::{Rng, SeedableRng};

/// The BLS12-381 base field modulus p, big-endian (48 octets).
const P_BE: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];
/// The group order r, big-endian.
const R_BE: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

/// `a + b` over big-endian octets of equal length; `None` on overflow.
fn add_be(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; a.len()];
    let mut carry = 0u16;
    for i in (0..a.len()).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    (carry == 0).then_some(out)
}

/// The same point with x replaced by x + p (same flags), if that still fits in 381 bits.
fn non_canonical_point(point: &[u8]) -> Option<Vec<u8>> {
    let flags = point[0] & 0xe0;
    let mut x = point.to_vec();
    x[0] &= 0x1f;
    let mut y = add_be(&x, &P_BE)?;
    if y[0] & 0xe0 != 0 {
        return None;
    }
    y[0] |= flags;
    Some(y)
}

struct Case {
    label: &'static str,
    pk: [u8; 96],
    scope: [u8; 32],
    header: [u8; 32],
    attrs: Attributes,
    nym: Vec<u8>,
    proof: Vec<u8>,
}

impl Case {
    fn presentation(&self) -> Presentation<'_> {
        Presentation {
            public_key: &self.pk,
            scope: &self.scope,
            header: &self.header,
            attributes: self.attrs,
            pseudonym: &self.nym,
            proof: &self.proof,
        }
    }

    fn reference(&self) -> bool {
        reference::verify(
            &self.pk,
            &self.scope,
            &self.header,
            &self.attrs,
            &self.nym,
            &self.proof,
        )
    }

    fn fast(&self) -> bool {
        Verifier::global().verify(&self.presentation()).is_ok()
    }
}

struct Issued {
    pk: RegistrarPublicKey,
    attrs: Attributes,
    cred: Credential,
}

fn issue_credentials(n: usize, rng: &mut StdRng) -> Vec<Issued> {
    let keys: Vec<RegistrarSecretKey> = (0..2)
        .map(|_| RegistrarSecretKey::generate(&mut OsRng))
        .collect();
    (0..n)
        .map(|i| {
            let sk = &keys[i % keys.len()];
            let pk = sk.public_key();
            let attrs = Attributes {
                registrar_id: rng.r#gen(),
                period: rng.r#gen(),
            };
            let nym = NymSecret::generate(&mut OsRng);
            let (req, state) = request_credential(&nym, &mut OsRng).unwrap();
            let sig = issue(sk, &req, &attrs, &mut OsRng).unwrap();
            let cred = finish_credential(&pk, &sig, state, &nym, &attrs).unwrap();
            Issued { pk, attrs, cred }
        })
        .collect()
}

/// The valid case and its mutations.
fn cases_for(valid: &Case, other: &Case, rng: &mut StdRng) -> Vec<Case> {
    let mut out = Vec::new();
    let mut push = |label: &'static str, f: &dyn Fn(&mut Case)| {
        let mut c = Case {
            label,
            pk: valid.pk,
            scope: valid.scope,
            header: valid.header,
            attrs: valid.attrs,
            nym: valid.nym.clone(),
            proof: valid.proof.clone(),
        };
        f(&mut c);
        out.push(c);
    };
    push("valid", &|_| {});
    for _ in 0..8 {
        let bit = rng.gen_range(0..valid.proof.len() * 8);
        push("proof bit flip", &move |c| {
            c.proof[bit / 8] ^= 1 << (bit % 8)
        });
    }
    for _ in 0..3 {
        let bit = rng.gen_range(0..valid.nym.len() * 8);
        push("pseudonym bit flip", &move |c| {
            c.nym[bit / 8] ^= 1 << (bit % 8)
        });
    }
    let cut = rng.gen_range(0..valid.proof.len());
    push("truncated proof", &move |c| c.proof.truncate(cut));
    push("proof minus one octet", &|c| {
        c.proof.pop();
    });
    push("extended proof", &|c| c.proof.push(0));
    push("extended to 4096 octets", &|c| c.proof.resize(4096, 0x5a));
    push("empty proof", &|c| c.proof.clear());
    push("truncated pseudonym", &|c| c.nym.truncate(47));
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        push("swapped points", &move |c| {
            let pa: Vec<u8> = c.proof[a * 48..(a + 1) * 48].to_vec();
            let pb: Vec<u8> = c.proof[b * 48..(b + 1) * 48].to_vec();
            c.proof[a * 48..(a + 1) * 48].copy_from_slice(&pb);
            c.proof[b * 48..(b + 1) * 48].copy_from_slice(&pa);
        });
    }
    for i in 0..3 {
        push("pseudonym as a proof point", &move |c| {
            let n = c.nym.clone();
            c.proof[i * 48..(i + 1) * 48].copy_from_slice(&n);
        });
        push("identity point", &move |c| {
            c.proof[i * 48..(i + 1) * 48].fill(0);
            c.proof[i * 48] = 0xc0;
        });
        push("sign bit flipped", &move |c| c.proof[i * 48] ^= 0x20);
        push("uncompressed flag cleared", &move |c| {
            c.proof[i * 48] &= 0x7f
        });
        if let Some(nc) = non_canonical_point(&valid.proof[i * 48..(i + 1) * 48]) {
            push("non-canonical point (x + p)", &move |c| {
                c.proof[i * 48..(i + 1) * 48].copy_from_slice(&nc)
            });
        }
    }
    push("identity pseudonym", &|c| {
        c.nym.fill(0);
        c.nym[0] = 0xc0;
    });
    push("pseudonym sign flipped", &|c| c.nym[0] ^= 0x20);
    if let Some(nc) = non_canonical_point(&valid.nym) {
        push("non-canonical pseudonym", &move |c| c.nym = nc.clone());
    }
    for s in 0..6 {
        let at = 144 + 32 * s;
        push("scalar + r (non-canonical)", &move |c| {
            let v = add_be(&c.proof[at..at + 32], &R_BE).unwrap();
            c.proof[at..at + 32].copy_from_slice(&v);
        });
        push("scalar zeroed", &move |c| c.proof[at..at + 32].fill(0));
    }
    push("scalar = r", &|c| c.proof[144..176].copy_from_slice(&R_BE));
    push("scalar all ones", &|c| c.proof[304..336].fill(0xff));
    let random: Vec<u8> = (0..336).map(|_| rng.r#gen()).collect();
    push("random proof octets", &move |c| c.proof = random.clone());
    push("other credential's pseudonym", &|c| {
        c.nym = other.nym.clone()
    });
    push("other credential's proof", &|c| {
        c.proof = other.proof.clone()
    });
    push("other scope", &|c| c.scope[0] ^= 1);
    push("other header", &|c| c.header[31] ^= 0x80);
    push("other period", &|c| c.attrs.period ^= 1);
    push("other registrar id", &|c| c.attrs.registrar_id[5] ^= 1);
    push("other key", &|c| c.pk = other.pk);
    push("invalid key", &|c| c.pk[95] ^= 1);
    out
}

#[test]
fn fast_and_reference_agree() {
    let n: usize = std::env::var("HEADCOUNT_DIFF_PROOFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut rng = StdRng::seed_from_u64(0x6865_6164_636f_756e);
    let creds = issue_credentials(n.div_ceil(3), &mut rng);
    let mut valid = Vec::new();
    for i in 0..n {
        let c = &creds[i % creds.len()];
        let scope: [u8; 32] = rng.r#gen();
        let header: [u8; 32] = rng.r#gen();
        let (nym, proof) = c.cred.prove(&c.pk, &scope, &header, &mut OsRng).unwrap();
        valid.push(Case {
            label: "valid",
            pk: c.pk.to_bytes(),
            scope,
            header,
            attrs: c.attrs,
            nym: nym.to_bytes().to_vec(),
            proof: proof.to_bytes(),
        });
    }
    let mut cases = Vec::new();
    // Proofs whose challenge is consistent but whose pairing fails: a credential signed by
    // the other registrar key, presented under this one.
    for i in 0..n.div_ceil(4) {
        let c = &creds[i % creds.len()];
        let signer = (1..creds.len())
            .map(|k| &creds[(i + k) % creds.len()])
            .find(|s| s.pk != c.pk)
            .unwrap();
        let scope: [u8; 32] = rng.r#gen();
        let header: [u8; 32] = rng.r#gen();
        let (nym, proof) = signer
            .cred
            .prove(&c.pk, &scope, &header, &mut OsRng)
            .unwrap();
        cases.push(Case {
            label: "signed under another key",
            pk: c.pk.to_bytes(),
            scope,
            header,
            attrs: signer.attrs,
            nym: nym.to_bytes().to_vec(),
            proof: proof.to_bytes(),
        });
    }
    for i in 0..valid.len() {
        let other = &valid[(i + 1) % valid.len()];
        cases.extend(cases_for(&valid[i], other, &mut rng));
    }
    let (mut accepted, mut rejected) = (0, 0);
    let mut verdicts = Vec::with_capacity(cases.len());
    for c in &cases {
        let (r, f) = (c.reference(), c.fast());
        assert_eq!(r, f, "{}: zkryptium {r}, fast {f}", c.label);
        if c.label == "valid" {
            assert!(f, "a valid proof was rejected");
        }
        if f {
            accepted += 1
        } else {
            rejected += 1
        }
        verdicts.push(f);
    }
    assert!(
        accepted >= n && rejected > 30 * n,
        "{accepted} accepted, {rejected} rejected"
    );

    // The batch verifier gives the same verdict per item, in batches of mixed sizes.
    let presentations: Vec<Presentation<'_>> = cases.iter().map(Case::presentation).collect();
    let mut at = 0;
    for size in [1usize, 2, 7, 64, 300].iter().cycle() {
        if at >= presentations.len() {
            break;
        }
        let end = (at + size).min(presentations.len());
        let got = verify_batch(&presentations[at..end]);
        for (k, g) in got.iter().enumerate() {
            assert_eq!(
                g.is_ok(),
                verdicts[at + k],
                "batch item {}: {}",
                at + k,
                cases[at + k].label
            );
        }
        at = end;
    }
    eprintln!(
        "{} cases: {accepted} accepted, {rejected} rejected by both",
        cases.len()
    );
}

#[test]
fn point_decoders_agree_with_zkryptium() {
    let mut rng = StdRng::seed_from_u64(7);
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let pk = sk.public_key().to_bytes();
    let mut checked = 0;
    for _ in 0..400 {
        // Random octets with the compression flag set: about half are valid x coordinates,
        // and of those only a fraction lie in the subgroup.
        let mut g1: [u8; 48] = [0; 48];
        rng.fill(&mut g1[..]);
        g1[0] = (g1[0] & 0x3f) | 0x80;
        assert_eq!(
            Pseudonym::from_bytes(&g1).is_ok(),
            reference::g1_valid(&g1),
            "{g1:02x?}"
        );
        let mut g2 = pk;
        let bit = rng.gen_range(3..96 * 8);
        g2[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            RegistrarPublicKey::from_bytes(&g2).is_ok(),
            reference::g2_valid(&g2)
        );
        checked += 1;
    }
    assert_eq!(checked, 400);
}
