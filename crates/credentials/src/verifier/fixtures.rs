//! The drafts' fixtures through the fast verifier's own code (`suite`, `challenge`): every
//! BLS12-381-SHA-256 fixture that exercises proof verification (BBS proofs, blind proofs,
//! pseudonym proofs), plus hash_to_scalar, MapMessageToScalarAsHash and the generators.
//! (`tests/fixtures.rs` runs the same files through zkryptium.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use blstrs::{Bls12, G1Affine, G1Projective, G2Affine, G2Prepared};
use group::prime::PrimeCurveAffine;
use group::{Curve, Group};
use pairing::{MillerLoopResult, MultiMillerLoop};
use serde_json::Value;

use super::challenge::{self, DecodedProof};
use super::fixed::Base;
use super::suite::{self, API_ID_NYM, Generators};
use super::{decode_g1, decode_g2};

const API_ID: &[u8] = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_H2G_HM2S_";
const API_ID_BLIND: &[u8] = b"BBS_BLS12381G1_XMD:SHA-256_SSWU_RO_BLIND_H2G_HM2S_";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(rel: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(root().join(rel)).unwrap()).unwrap()
}

fn files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {dir}");
    v
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).unwrap()
}

fn revealed(v: &Value) -> Vec<(usize, Vec<u8>)> {
    let mut pairs: Vec<(usize, Vec<u8>)> = v
        .as_object()
        .map(|o| o.iter().map(|(k, m)| (k.parse().unwrap(), h(m))).collect())
        .unwrap_or_default();
    pairs.sort_by_key(|p| p.0);
    pairs
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bbs,
    Blind,
    Nym,
}

/// `ProofVerify`, `BlindProofVerify` or `ProofVerifyWithNym` of the drafts on the fast code.
#[allow(clippy::too_many_arguments)]
fn verify_general(
    kind: Kind,
    pk: &[u8],
    header: &[u8],
    ph: &[u8],
    l: usize,
    disclosed: &[(usize, Vec<u8>)],
    disclosed_committed: &[(usize, Vec<u8>)],
    proof: &[u8],
    nym: Option<(&[u8], &[u8], usize)>,
) -> bool {
    let api_id = match kind {
        Kind::Bbs => API_ID,
        Kind::Blind => API_ID_BLIND,
        Kind::Nym => API_ID_NYM,
    };
    let Some(pk_point) = pk.try_into().ok().and_then(decode_g2) else {
        return false;
    };
    let Ok(p) = DecodedProof::decode(proof) else {
        return false;
    };
    let n = p.m_hat.len() + disclosed.len() + disclosed_committed.len();
    let mut gens = if kind == Kind::Bbs {
        suite::create_generators(n + 1, api_id).unwrap()
    } else {
        let Some(blind) = (n + 1).checked_sub(l + 1) else {
            return false;
        };
        let mut g = suite::create_generators(l + 1, api_id).unwrap();
        g.extend(suite::create_generators(blind, &[b"BLIND_", api_id].concat()).unwrap());
        g
    };
    gens.truncate(n + 1);
    let mut values = vec![G1Affine::identity(); gens.len()];
    G1Projective::batch_normalize(&gens, &mut values);
    let indexes: Vec<(usize, &Vec<u8>)> = disclosed
        .iter()
        .map(|(i, m)| (*i, m))
        .chain(disclosed_committed.iter().map(|(j, m)| (j + l + 1, m)))
        .collect();
    if indexes.iter().any(|(i, _)| *i >= n) {
        return false;
    }
    let scalars: Vec<(usize, blstrs::Scalar)> = indexes
        .iter()
        .map(|(i, m)| (*i, suite::map_message(m, api_id).unwrap()))
        .collect();
    let header = match (kind, nym) {
        (Kind::Nym, Some((_, _, count))) => [header, &suite::i2osp8(count)].concat(),
        _ => header.to_vec(),
    };
    let domain = suite::domain(pk.try_into().unwrap(), &values, &header, api_id).unwrap();
    let p1 = Generators::new().unwrap().p1;
    let mut bv = G1Projective::from(p1) + values[0] * domain;
    for (i, m) in &scalars {
        bv += values[i + 1] * m;
    }
    let undisclosed: Vec<Base<'_>> = (0..n)
        .filter(|j| !scalars.iter().any(|(i, _)| i == j))
        .map(|j| Base::Plain(values[j + 1].into()))
        .collect();
    let nym = match nym {
        None => None,
        Some((bytes, ctx, count)) => {
            let Some(point) = bytes.try_into().ok().and_then(decode_g1) else {
                return false;
            };
            Some(challenge::Nym {
                op: Base::Plain(suite::hash_to_curve(ctx, api_id)),
                point: point.into(),
                bytes,
                context_id: ctx,
                count,
            })
        }
    };
    if challenge::check(&challenge::Challenge {
        api_id,
        domain,
        bv: Base::Plain(bv),
        disclosed: &scalars,
        undisclosed_generators: &undisclosed,
        proof: &p,
        proof_bytes: proof,
        ph,
        nym,
    })
    .is_err()
    {
        return false;
    }
    let terms = [
        (&p.abar.to_affine(), &G2Prepared::from(pk_point)),
        (
            &p.bbar.to_affine(),
            &G2Prepared::from(-G2Affine::generator()),
        ),
    ];
    bool::from(
        Bls12::multi_miller_loop(&terms)
            .final_exponentiation()
            .is_identity(),
    )
}

fn expected(j: &Value) -> bool {
    j["result"]["valid"].as_bool().unwrap()
}

#[test]
fn hash_to_scalar_and_map_message() {
    let j = load("fixture_data/bls12-381-sha-256/h2s.json");
    let s = suite::hash_to_scalar(&[&h(&j["message"])], &h(&j["dst"])).unwrap();
    assert_eq!(hex::encode(s.to_bytes_be()), j["scalar"].as_str().unwrap());
    let j = load("fixture_data/bls12-381-sha-256/MapMessageToScalarAsHash.json");
    for c in j["cases"].as_array().unwrap() {
        let m = suite::map_message(&h(&c["message"]), API_ID).unwrap();
        assert_eq!(hex::encode(m.to_bytes_be()), c["scalar"].as_str().unwrap());
    }
}

fn check_generators(g: &Value, api_id: &[u8]) {
    let want: Vec<&str> = g["MsgGenerators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let got = suite::create_generators(want.len() + 1, api_id).unwrap();
    let hexes: Vec<String> = got
        .iter()
        .map(|p| hex::encode(p.to_affine().to_compressed()))
        .collect();
    assert_eq!(hexes[0], g["Q1"].as_str().unwrap());
    assert_eq!(&hexes[1..], want.as_slice());
    assert_eq!(
        hex::encode(Generators::new().unwrap().p1.to_compressed()),
        g["P1"].as_str().unwrap()
    );
}

#[test]
fn generators() {
    check_generators(
        &load("fixture_data/bls12-381-sha-256/generators.json"),
        API_ID,
    );
    for dir in ["fixture_data_blind", "fixture_data_nym"] {
        let j = load(&format!("{dir}/bls12-381-sha-256/generators.json"));
        for key in ["generators", "blindGenerators"] {
            let api_id = j[key]["api_id"].as_str().unwrap().as_bytes().to_vec();
            check_generators(&j[key], &api_id);
        }
    }
}

#[test]
fn bbs_proofs() {
    let mut valid = 0;
    for f in files("fixture_data/bls12-381-sha-256/proof") {
        let j = load(&f);
        let msgs: Vec<Vec<u8>> = j["messages"].as_array().unwrap().iter().map(h).collect();
        let disclosed: Vec<(usize, Vec<u8>)> = j["disclosedIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let i = usize::try_from(i.as_u64().unwrap()).unwrap();
                (i, msgs[i].clone())
            })
            .collect();
        let got = verify_general(
            Kind::Bbs,
            &h(&j["signerPublicKey"]),
            &h(&j["header"]),
            &h(&j["presentationHeader"]),
            msgs.len(),
            &disclosed,
            &[],
            &h(&j["proof"]),
            None,
        );
        assert_eq!(got, expected(&j), "{f}: {}", j["caseName"]);
        valid += usize::from(got);
    }
    assert!(valid > 0);
}

#[test]
fn blind_proofs() {
    let all = load("fixture_data_blind/messages.json")["messages"]
        .as_array()
        .unwrap()
        .len();
    for f in files("fixture_data_blind/bls12-381-sha-256/proof") {
        let j = load(&f);
        let l = j["L"].as_u64().map_or(all, |l| usize::try_from(l).unwrap());
        let got = verify_general(
            Kind::Blind,
            &h(&j["signerPublicKey"]),
            &h(&j["header"]),
            &h(&j["presentationHeader"]),
            l,
            &revealed(&j["revealedMessages"]),
            &revealed(&j["revealedCommittedMessages"]),
            &h(&j["proof"]),
            None,
        );
        assert_eq!(got, expected(&j), "{f}: {}", j["caseName"]);
    }
}

#[test]
fn nym_proofs() {
    for f in files("fixture_data_nym/bls12-381-sha-256/nymProof") {
        let j = load(&f);
        let nym = h(&j["pseudonym"]);
        let ctx = h(&j["context_id"]);
        let count = j["nym_secrets"].as_array().unwrap().len();
        let args = (
            h(&j["signerPublicKey"]),
            h(&j["header"]),
            h(&j["presentationHeader"]),
            j["messages"].as_array().unwrap().len(),
            revealed(&j["revealedMessages"]),
            revealed(&j["revealedCommittedMessages"]),
            h(&j["proof"]),
        );
        let run = |ph: &[u8], proof: &[u8], ctx: &[u8]| {
            verify_general(
                Kind::Nym,
                &args.0,
                &args.1,
                ph,
                args.3,
                &args.4,
                &args.5,
                proof,
                Some((&nym, ctx, count)),
            )
        };
        assert_eq!(run(&args.2, &args.6, &ctx), expected(&j), "{f}");
        // And the same fixture with a wrong presentation header, scope or proof byte fails.
        assert!(!run(b"other", &args.6, &ctx), "{f}: ph");
        assert!(!run(&args.2, &args.6, b"other scope"), "{f}: scope");
        let mut bad = args.6.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!run(&args.2, &bad, &ctx), "{f}: proof");
    }
}
