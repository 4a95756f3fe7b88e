//! The IRTF drafts' fixtures (BLS12-381-SHA-256), run against the BBS backend (zkryptium)
//! directly: this is the thin test-only path, since the public API fixes one message layout.
//! A few also go through the public wrapper where the layout fits.
//!
//! Not run: `mockedRng.json` and byte-equality of generated proofs / commitments, because
//! zkryptium 0.8 only exposes its seeded ("mocked") RNG under its own `cfg(test)`; generated
//! proofs and commitments here are random, so only their verification is checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::Value;
use zkryptium::bbsplus::ciphersuites::{BbsCiphersuite, Bls12381Sha256 as Cs};
use zkryptium::bbsplus::commitment::BlindFactor;
use zkryptium::bbsplus::generators::Generators;
use zkryptium::bbsplus::keys::{BBSplusPublicKey, BBSplusSecretKey};
use zkryptium::bbsplus::pseudonym::{BBSplusPseudonym, PseudonymSecret};
use zkryptium::keys::pair::KeyPair;
use zkryptium::schemes::algorithms::BbsBls12381Sha256 as Bbs;
use zkryptium::schemes::generics::{BlindSignature, Commitment, PoKSignature, Signature};
use zkryptium::utils::message::bbsplus_message::BBSplusMessage;
use zkryptium::utils::util::bbsplus_utils::hash_to_scalar;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(rel: &str) -> Value {
    let p = root().join(rel);
    serde_json::from_str(&fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))).unwrap()
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

fn hexes(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().unwrap().iter().map(h).collect()
}

fn nyms(v: &Value) -> Vec<PseudonymSecret> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| PseudonymSecret::from_hex(s.as_str().unwrap()).unwrap())
        .collect()
}

fn blind(v: &Value) -> Option<BlindFactor> {
    v.as_str()
        .map(|b| BlindFactor::from_bytes(&hex::decode(b).unwrap().try_into().unwrap()).unwrap())
}

/// `{ "index": "hex", .. }` → (messages, indexes), in ascending index order.
fn revealed(v: &Value) -> (Vec<Vec<u8>>, Vec<usize>) {
    let mut pairs: Vec<(usize, Vec<u8>)> = v
        .as_object()
        .map(|o| o.iter().map(|(k, m)| (k.parse().unwrap(), h(m))).collect())
        .unwrap_or_default();
    pairs.sort_by_key(|p| p.0);
    pairs.into_iter().map(|(i, m)| (m, i)).unzip()
}

fn expected(j: &Value) -> bool {
    j["result"]["valid"].as_bool().unwrap()
}

/// Runs a check that returns "valid?"; a panic counts as "invalid" but is reported.
fn outcome(name: &str, f: impl FnOnce() -> bool) -> (bool, bool) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => (v, false),
        Err(_) => {
            eprintln!("  {name}: zkryptium PANICKED (counted as rejection)");
            (false, true)
        }
    }
}

fn check(name: &str, j: &Value, got: (bool, bool)) {
    let want = expected(j);
    eprintln!(
        "{name}: expected {want}, got {}{} — {}",
        got.0,
        if got.1 { " (panic)" } else { "" },
        j["caseName"]
    );
    assert_eq!(got.0, want, "{name}: {}", j["caseName"]);
}

// --- draft-irtf-cfrg-bbs-signatures --------------------------------------------------------

#[test]
fn bbs_keypair() {
    let j = load("fixture_data/bls12-381-sha-256/keypair.json");
    let kp = KeyPair::<Bbs>::generate(
        &h(&j["keyMaterial"]),
        Some(&h(&j["keyInfo"])),
        Some(&h(&j["keyDst"])),
    )
    .unwrap();
    assert_eq!(
        hex::encode(kp.private_key().to_bytes()),
        j["keyPair"]["secretKey"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(kp.public_key().to_bytes()),
        j["keyPair"]["publicKey"].as_str().unwrap()
    );
    // Through the wrapper: the fixture key decodes and derives the fixture public key.
    let sk = headcount_credentials::RegistrarSecretKey::from_bytes(&h(&j["keyPair"]["secretKey"]))
        .unwrap();
    assert_eq!(
        sk.public_key().to_bytes().to_vec(),
        h(&j["keyPair"]["publicKey"])
    );
    headcount_credentials::RegistrarPublicKey::from_bytes(&h(&j["keyPair"]["publicKey"])).unwrap();
}

#[test]
fn bbs_hash_to_scalar_and_map_message() {
    let j = load("fixture_data/bls12-381-sha-256/h2s.json");
    let s = hash_to_scalar::<Cs>(&h(&j["message"]), &h(&j["dst"])).unwrap();
    assert_eq!(hex::encode(s.to_be_bytes()), j["scalar"].as_str().unwrap());

    let j = load("fixture_data/bls12-381-sha-256/MapMessageToScalarAsHash.json");
    let dst = h(&j["dst"]);
    assert_eq!(dst, [Cs::API_ID, Cs::MAP_MSG_SCALAR].concat());
    for c in j["cases"].as_array().unwrap() {
        let m = BBSplusMessage::map_message_to_scalar_as_hash::<Cs>(&h(&c["message"]), Cs::API_ID)
            .unwrap();
        assert_eq!(hex::encode(m.to_bytes_be()), c["scalar"].as_str().unwrap());
    }
}

fn check_generators(g: &Value, api_id: &[u8]) {
    let n = g["MsgGenerators"].as_array().unwrap().len();
    let gens = serde_json::to_value(Generators::create::<Cs>(n + 1, Some(api_id))).unwrap();
    let values = gens["Generators"].as_array().unwrap();
    assert_eq!(gens["BP"], g["P1"]);
    assert_eq!(values[0], g["Q1"]);
    assert_eq!(
        &values[1..],
        g["MsgGenerators"].as_array().unwrap().as_slice()
    );
}

#[test]
fn bbs_generators() {
    check_generators(
        &load("fixture_data/bls12-381-sha-256/generators.json"),
        Cs::API_ID,
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
fn bbs_signatures() {
    for f in files("fixture_data/bls12-381-sha-256/signature") {
        let j = load(&f);
        let sk = BBSplusSecretKey::from_bytes(&h(&j["signerKeyPair"]["secretKey"])).unwrap();
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerKeyPair"]["publicKey"])).unwrap();
        let header = h(&j["header"]);
        let msgs = hexes(&j["messages"]);
        let sig_bytes = h(&j["signature"]);
        if expected(&j) {
            // Sign is deterministic: reproduce the fixture signature byte for byte.
            let sig = Signature::<Bbs>::sign(Some(&msgs), &sk, &pk, Some(&header)).unwrap();
            assert_eq!(sig.to_bytes().to_vec(), sig_bytes, "{f}");
        }
        let got = outcome(&f, || {
            let Ok(arr) = <[u8; 80]>::try_from(sig_bytes.as_slice()) else {
                return false;
            };
            Signature::<Bbs>::from_bytes(&arr)
                .and_then(|s| s.verify(&pk, Some(&msgs), Some(&header)))
                .is_ok()
        });
        check(&f, &j, got);
    }
}

#[test]
fn bbs_proofs() {
    for f in files("fixture_data/bls12-381-sha-256/proof") {
        let j = load(&f);
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerPublicKey"])).unwrap();
        let header = h(&j["header"]);
        let ph = h(&j["presentationHeader"]);
        let msgs = hexes(&j["messages"]);
        let idx: Vec<usize> = j["disclosedIndexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| usize::try_from(i.as_u64().unwrap()).unwrap())
            .collect();
        let disclosed: Vec<Vec<u8>> = idx.iter().map(|&i| msgs[i].clone()).collect();
        let proof = h(&j["proof"]);
        let got = outcome(&f, || {
            PoKSignature::<Bbs>::from_bytes(&proof)
                .and_then(|p| {
                    p.proof_verify(&pk, Some(&disclosed), Some(&idx), Some(&header), Some(&ph))
                })
                .is_ok()
        });
        check(&f, &j, got);
        // A fresh (random) proof over the same signature verifies too, for the valid ones.
        if expected(&j) {
            let fresh = PoKSignature::<Bbs>::proof_gen(
                &pk,
                &h(&j["signature"]),
                Some(&header),
                Some(&ph),
                Some(&msgs),
                Some(&idx),
            )
            .unwrap();
            assert_eq!(fresh.to_bytes().len(), proof.len());
            fresh
                .proof_verify(&pk, Some(&disclosed), Some(&idx), Some(&header), Some(&ph))
                .unwrap();
        }
    }
}

// --- draft-irtf-cfrg-bbs-blind-signatures --------------------------------------------------

#[test]
fn blind_commitments() {
    for f in files("fixture_data_blind/bls12-381-sha-256/commit") {
        let j = load(&f);
        let cm = hexes(&j["committedMessages"]);
        let c = h(&j["commitmentWithProof"]);
        let gens =
            Generators::create::<Cs>(cm.len() + 1, Some(&[b"BLIND_", Cs::API_ID_BLIND].concat()));
        let got = outcome(&f, || {
            Commitment::<Bbs>::deserialize_and_validate_commit(
                Some(&c),
                &gens,
                Some(Cs::API_ID_BLIND),
            )
            .is_ok()
        });
        check(&f, &j, got);
        // A fresh commitment over the same messages validates.
        let (fresh, _) = Commitment::<Bbs>::commit(Some(&cm)).unwrap();
        assert_eq!(fresh.to_bytes().len(), c.len());
        Commitment::<Bbs>::deserialize_and_validate_commit(
            Some(&fresh.to_bytes()),
            &gens,
            Some(Cs::API_ID_BLIND),
        )
        .unwrap();
    }
}

#[test]
fn blind_signatures() {
    for f in files("fixture_data_blind/bls12-381-sha-256/signature") {
        let j = load(&f);
        let sk = BBSplusSecretKey::from_bytes(&h(&j["signerKeyPair"]["secretKey"])).unwrap();
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerKeyPair"]["publicKey"])).unwrap();
        let c = j["commitmentWithProof"]
            .as_str()
            .map(|s| hex::decode(s).unwrap());
        let cm = j["committedMessages"]
            .as_array()
            .map(|_| hexes(&j["committedMessages"]));
        let header = h(&j["header"]);
        let msgs = hexes(&j["messages"]);
        let pb = blind(&j["proverBlind"]);
        let sig =
            BlindSignature::<Bbs>::blind_sign(&sk, &pk, c.as_deref(), Some(&header), Some(&msgs))
                .unwrap();
        assert_eq!(sig.to_bytes().to_vec(), h(&j["signature"]), "{f}");
        let got = outcome(&f, || {
            sig.verify_blind_sign(&pk, Some(&header), Some(&msgs), cm.as_deref(), pb.as_ref())
                .is_ok()
        });
        check(&f, &j, got);
    }
}

#[test]
fn blind_proofs() {
    let mj = load("fixture_data_blind/messages.json");
    let all_msgs = hexes(&mj["messages"]);
    for f in files("fixture_data_blind/bls12-381-sha-256/proof") {
        let j = load(&f);
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerPublicKey"])).unwrap();
        let header = h(&j["header"]);
        let ph = h(&j["presentationHeader"]);
        let (dm, di) = revealed(&j["revealedMessages"]);
        let (dcm, dci) = revealed(&j["revealedCommittedMessages"]);
        let l = j["L"]
            .as_u64()
            .map_or(all_msgs.len(), |l| usize::try_from(l).unwrap());
        let proof = h(&j["proof"]);
        let got = outcome(&f, || {
            PoKSignature::<Bbs>::from_bytes(&proof)
                .and_then(|p| {
                    p.blind_proof_verify(
                        &pk,
                        Some(&header),
                        Some(&ph),
                        Some(l),
                        Some(&dm),
                        Some(&dcm),
                        Some(&di),
                        Some(&dci),
                    )
                })
                .is_ok()
        });
        check(&f, &j, got);
    }
}

// --- draft-irtf-cfrg-bbs-per-verifier-linkability ------------------------------------------

#[test]
fn nym_commitments() {
    let mut wrapper_checked = 0;
    for f in files("fixture_data_nym/bls12-381-sha-256/nymCommit") {
        let j = load(&f);
        let cm = hexes(&j["committedMessages"]);
        let pn = nyms(&j["proverNyms"]);
        let c = h(&j["commitmentWithProof"]);
        let gens = Generators::create::<Cs>(
            cm.len() + pn.len() + 2,
            Some(&[b"BLIND_", Cs::API_ID_NYM].concat()),
        );
        let got = outcome(&f, || {
            Commitment::<Bbs>::deserialize_and_validate_commit(
                Some(&c),
                &gens,
                Some(Cs::API_ID_NYM),
            )
            .is_ok()
        });
        check(&f, &j, got);
        // Our layout (no committed messages, one prover nym): the wrapper accepts the fixture
        // request and a registrar issues on it.
        if cm.is_empty() && pn.len() == 1 {
            let req = headcount_credentials::IssuanceRequest::from_bytes(&c).unwrap();
            let sk = headcount_credentials::RegistrarSecretKey::from_bytes(&h(&load(
                "fixture_data/bls12-381-sha-256/keypair.json",
            )["keyPair"]["secretKey"]))
            .unwrap();
            let attrs = headcount_credentials::Attributes {
                registrar_id: [1; 32],
                period: 1,
            };
            headcount_credentials::issue(&sk, &req, &attrs, &mut rand::rngs::OsRng).unwrap();
            wrapper_checked += 1;
        }
    }
    assert!(wrapper_checked > 0, "no fixture with our commitment shape");
}

#[test]
fn nym_signatures() {
    for f in files("fixture_data_nym/bls12-381-sha-256/nymSignature") {
        let j = load(&f);
        let sk = BBSplusSecretKey::from_bytes(&h(&j["signerKeyPair"]["secretKey"])).unwrap();
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerKeyPair"]["publicKey"])).unwrap();
        let c = j["commitmentWithProof"]
            .as_str()
            .map(|s| hex::decode(s).unwrap());
        let cm = hexes(&j["committedMessages"]);
        let header = h(&j["header"]);
        let msgs = hexes(&j["messages"]);
        let pb = blind(&j["proverBlind"]);
        let pn = nyms(&j["proverNyms"]);
        let entropy = PseudonymSecret::from_hex(j["signer_nym_entropy"].as_str().unwrap()).unwrap();
        let sig = BlindSignature::<Bbs>::blind_sign_with_nym(
            &sk,
            &pk,
            c.as_deref(),
            pn.len(),
            Some(&header),
            &entropy,
            Some(&msgs),
        )
        .unwrap();
        assert_eq!(sig.to_bytes().to_vec(), h(&j["signature"]), "{f}");
        let got = outcome(&f, || {
            match sig.verify_finalize_with_nym(
                &pk,
                Some(&header),
                Some(&msgs),
                Some(&cm),
                pn.clone(),
                Some(&entropy),
                pb.as_ref(),
            ) {
                Ok(secrets) => {
                    assert_eq!(secrets, nyms(&j["nym_secrets"]), "{f}: nym_secrets");
                    true
                }
                Err(_) => false,
            }
        });
        check(&f, &j, got);
    }
}

#[test]
fn nym_proofs() {
    for f in files("fixture_data_nym/bls12-381-sha-256/nymProof") {
        let j = load(&f);
        let pk = BBSplusPublicKey::from_bytes(&h(&j["signerPublicKey"])).unwrap();
        let header = h(&j["header"]);
        let ph = h(&j["presentationHeader"]);
        let msgs = hexes(&j["messages"]);
        let (dm, di) = revealed(&j["revealedMessages"]);
        let (dcm, dci) = revealed(&j["revealedCommittedMessages"]);
        let ctx = h(&j["context_id"]);
        let n_nyms = j["nym_secrets"].as_array().unwrap().len();
        let proof = h(&j["proof"]);
        let nym = h(&j["pseudonym"]);
        let got = outcome(&f, || {
            let Ok(p) = PoKSignature::<Bbs>::from_bytes(&proof) else {
                return false;
            };
            let Ok(n) = BBSplusPseudonym::from_bytes(&nym) else {
                return false;
            };
            p.proof_verify_with_nym(
                &pk,
                Some(&header),
                Some(&ph),
                &n,
                &ctx,
                n_nyms,
                Some(msgs.len()),
                Some(&dm),
                Some(&dcm),
                Some(&di),
                Some(&dci),
            )
            .is_ok()
        });
        check(&f, &j, got);
        // A fresh (random) proof from the fixture signature gives the fixture pseudonym.
        if expected(&j) {
            let cm = hexes(&j["committedMessages"]);
            let (fresh, fresh_nym) = PoKSignature::<Bbs>::proof_gen_with_nym(
                &pk,
                &h(&j["signature"]),
                Some(&header),
                Some(&ph),
                &nyms(&j["nym_secrets"]),
                &ctx,
                Some(&msgs),
                Some(&cm),
                Some(&di),
                Some(&dci),
                blind(&j["proverBlind"]).as_ref(),
            )
            .unwrap();
            assert_eq!(fresh_nym.to_bytes(), nym, "{f}: pseudonym");
            assert_eq!(fresh.to_bytes().len(), proof.len(), "{f}: proof length");
            fresh
                .proof_verify_with_nym(
                    &pk,
                    Some(&header),
                    Some(&ph),
                    &fresh_nym,
                    &ctx,
                    n_nyms,
                    Some(msgs.len()),
                    Some(&dm),
                    Some(&dcm),
                    Some(&di),
                    Some(&dci),
                )
                .unwrap();
        }
    }
}
