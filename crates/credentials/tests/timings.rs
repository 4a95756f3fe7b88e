//! Timings and sizes. Run with
//! `cargo test -p headcount-credentials --release --test timings -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use headcount_credentials::*;
use rand::rngs::OsRng;

fn time<T>(label: &str, n: u32, mut f: impl FnMut() -> T) -> T {
    let t = Instant::now();
    let mut out = None;
    for _ in 0..n {
        out = Some(f());
    }
    let per = t.elapsed() / n;
    println!("{label:<32} {per:>12.2?} / op  ({n} runs)");
    out.unwrap()
}

#[test]
#[ignore = "measurement; run with --release --ignored --nocapture"]
fn timings() {
    let mut rng = OsRng;
    let n = 20;
    let sk = time("registrar keygen", n, || {
        RegistrarSecretKey::generate(&mut rng)
    });
    let pk = sk.public_key();
    let attrs = Attributes {
        registrar_id: [1; 32],
        period: 1,
    };
    let nym = time("nym secret from key material", n, || {
        NymSecret::from_key_material(&[2; 32]).unwrap()
    });
    let (req, _) = time("request_credential (commit)", n, || {
        request_credential(&nym, &mut rng).unwrap()
    });
    let sig = time("issue (verify commit + sign)", n, || {
        issue(&sk, &req, &attrs, &mut rng).unwrap()
    });
    let (req, state) = request_credential(&nym, &mut rng).unwrap();
    let sig2 = issue(&sk, &req, &attrs, &mut rng).unwrap();
    let state_bytes = state.to_bytes();
    let cred = time("finish_credential (verify)", n, || {
        let st = IssuanceState::from_bytes(state_bytes.as_ref()).unwrap();
        finish_credential(&pk, &sig2, st, &nym, &attrs).unwrap()
    });
    let _ = sig;
    let (p, proof) = time("prove (pseudonym proof)", n, || {
        cred.prove(&pk, &[3; 32], &[4; 32], &mut rng).unwrap()
    });
    time("verify (pseudonym proof)", n, || {
        verify(&pk, &[3; 32], &[4; 32], &attrs, &p, &proof).unwrap();
    });
    let bad = {
        let mut b = proof.to_bytes();
        b[300] ^= 1;
        PseudonymProof::from_bytes(&b).unwrap()
    };
    time("verify (wrong proof, rejected)", n, || {
        assert!(verify(&pk, &[3; 32], &[4; 32], &attrs, &p, &bad).is_err());
    });
    time("PseudonymProof::from_bytes", n, || {
        PseudonymProof::from_bytes(proof.as_bytes()).unwrap()
    });
    println!(
        "sizes: pseudonym {PSEUDONYM_LEN}, proof {PROOF_LEN}, request {REQUEST_LEN}, \
         blind signature {BLIND_SIGNATURE_LEN}, credential {CREDENTIAL_LEN}, public key \
         {PUBLIC_KEY_LEN}, state {STATE_LEN}"
    );
}
