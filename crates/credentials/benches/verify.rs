//! Pseudonym-proof verification, stage by stage, beside the zkryptium baseline measured in
//! the same run: single verification (fast and zkryptium), batches of 64 and 1,024 (all
//! valid, and with one invalid proof), and the primitives (G1 decoding, MSMs, pairings).
//!
//! `cargo bench -p headcount-credentials --bench verify`. `HEADCOUNT_BENCH_PROOFS` sets how
//! many proofs are made up front (default 1,024; proving is the slow part of the setup).

use std::hint::black_box;
use std::time::{Duration, Instant};

use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared, Scalar};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ff::Field;
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use headcount_credentials::*;
use pairing::{MillerLoopResult, MultiMillerLoop};
use rand_core::OsRng;

struct Made {
    pk: [u8; 96],
    scope: [u8; 32],
    headers: Vec<[u8; 32]>,
    attrs: Attributes,
    nyms: Vec<[u8; 48]>,
    proofs: Vec<Vec<u8>>,
    /// A proof whose challenge is consistent but whose pairing check fails: made with a
    /// credential signed by another registrar key, presented under this one.
    forged: ([u8; 32], [u8; 48], Vec<u8>),
}

impl Made {
    fn presentation(&self, i: usize) -> Presentation<'_> {
        Presentation {
            public_key: &self.pk,
            scope: &self.scope,
            header: &self.headers[i],
            attributes: self.attrs,
            pseudonym: &self.nyms[i],
            proof: &self.proofs[i],
        }
    }
}

fn make(n: usize) -> Made {
    let t = Instant::now();
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let pk = sk.public_key();
    let attrs = Attributes {
        registrar_id: [7; 32],
        period: 3,
    };
    let scope = [9u8; 32];
    let creds: Vec<Credential> = (0..16)
        .map(|_| {
            let nym = NymSecret::generate(&mut OsRng);
            let (req, state) = request_credential(&nym, &mut OsRng).expect("request");
            let sig = issue(&sk, &req, &attrs, &mut OsRng).expect("issue");
            finish_credential(&pk, &sig, state, &nym, &attrs).expect("finish")
        })
        .collect();
    let forged = {
        let other = RegistrarSecretKey::generate(&mut OsRng);
        let nym = NymSecret::generate(&mut OsRng);
        let (req, state) = request_credential(&nym, &mut OsRng).expect("request");
        let sig = issue(&other, &req, &attrs, &mut OsRng).expect("issue");
        let cred =
            finish_credential(&other.public_key(), &sig, state, &nym, &attrs).expect("finish");
        let header = [0xee; 32];
        let (nym, proof) = cred.prove(&pk, &scope, &header, &mut OsRng).expect("prove");
        (header, nym.to_bytes(), proof.to_bytes())
    };
    let mut m = Made {
        pk: pk.to_bytes(),
        scope,
        headers: Vec::new(),
        attrs,
        nyms: Vec::new(),
        proofs: Vec::new(),
        forged,
    };
    for i in 0..n {
        let mut header = [0u8; 32];
        header[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let (nym, proof) = creds[i % creds.len()]
            .prove(&pk, &scope, &header, &mut OsRng)
            .expect("prove");
        m.headers.push(header);
        m.nyms.push(nym.to_bytes());
        m.proofs.push(proof.to_bytes());
    }
    eprintln!("setup: {n} proofs in {:.1}s", t.elapsed().as_secs_f64());
    m
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("HEADCOUNT_BENCH_PROOFS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let m = make(n.max(64));
    let v = Verifier::global();
    let p0 = m.presentation(0);
    assert!(v.verify(&p0).is_ok());

    let mut g = c.benchmark_group("verify_single");
    g.throughput(Throughput::Elements(1));
    g.bench_function("zkryptium", |b| {
        b.iter(|| {
            assert!(reference::verify(
                p0.public_key,
                p0.scope,
                p0.header,
                &p0.attributes,
                p0.pseudonym,
                p0.proof
            ))
        })
    });
    g.bench_function("fast", |b| b.iter(|| v.verify(black_box(&p0)).is_ok()));
    g.finish();

    let all: Vec<Presentation<'_>> = (0..m.proofs.len()).map(|i| m.presentation(i)).collect();
    let forged = Presentation {
        header: &m.forged.0,
        pseudonym: &m.forged.1,
        proof: &m.forged.2,
        ..all[0]
    };
    assert!(v.verify(&forged).is_err());
    let mut g = c.benchmark_group("verify_batch");
    g.sample_size(10);
    for size in [64usize, 1024] {
        if size > all.len() {
            continue;
        }
        let items = &all[..size];
        g.throughput(Throughput::Elements(size as u64));
        g.bench_with_input(BenchmarkId::new("all_valid", size), &size, |b, _| {
            b.iter(|| {
                let r = v.verify_batch(items);
                assert!(r.iter().all(Result::is_ok));
            })
        });
        // One proof that passes the challenge and fails only the pairing: bisection.
        let mut with_bad: Vec<Presentation<'_>> = items.to_vec();
        let k = size / 3;
        with_bad[k] = forged;
        g.bench_with_input(BenchmarkId::new("one_invalid", size), &size, |b, _| {
            b.iter(|| {
                let r = v.verify_batch(&with_bad);
                assert!(r[k].is_err());
                assert_eq!(r.iter().filter(|x| x.is_err()).count(), 1);
            })
        });
    }
    g.finish();

    // Primitives.
    let mut rng = OsRng;
    let pts: Vec<G1Projective> = (0..1024).map(|_| G1Projective::random(&mut rng)).collect();
    let sc: Vec<Scalar> = (0..1024).map(|_| Scalar::random(&mut rng)).collect();
    let mut g = c.benchmark_group("msm");
    g.bench_function("g1_mul", |b| b.iter(|| black_box(pts[0] * sc[0])));
    for k in [2usize, 3, 4, 10, 64, 1024] {
        g.bench_with_input(BenchmarkId::new("g1_multi_exp", k), &k, |b, &k| {
            b.iter(|| black_box(G1Projective::multi_exp(&pts[..k], &sc[..k])))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pairing");
    let a = pts[0].to_affine();
    let bb = pts[1].to_affine();
    let q = G2Prepared::from(G2Affine::from(G2Affine::generator() * sc[2]));
    let neg = G2Prepared::from(-G2Affine::generator());
    g.bench_function("pairing_product_2", |b| {
        b.iter(|| {
            black_box(Bls12::multi_miller_loop(&[(&a, &q), (&bb, &neg)]).final_exponentiation())
        })
    });
    g.bench_function("g1_decode_checked_blst", |b| {
        let enc = a.to_compressed();
        b.iter(|| black_box(G1Affine::from_compressed(black_box(&enc)).is_some()))
    });
    g.bench_function("g1_decode_checked_zkryptium", |b| {
        let enc = a.to_compressed();
        b.iter(|| black_box(reference::g1_valid(black_box(&enc))))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
