//! Arbitrary bytes into every decoder and into `verify`. libfuzzer-sys installs a panic hook
//! that aborts, so a panic caught by the crate's `catch_unwind` still counts as a crash here:
//! the length/encoding checks must stop malformed input before it reaches the backend.
#![no_main]

use headcount_credentials::*;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Ctx {
    pk: RegistrarPublicKey,
    sk: RegistrarSecretKey,
    attrs: Attributes,
    nym: Pseudonym,
    proof: PseudonymProof,
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut rng = rand_core::OsRng;
        let sk = RegistrarSecretKey::from_bytes(&[1u8; 32]).expect("key");
        let pk = sk.public_key();
        let attrs = Attributes {
            registrar_id: [2; 32],
            period: 3,
        };
        let secret = NymSecret::from_key_material(&[4; 32]).expect("nym");
        let (req, state) = request_credential(&secret, &mut rng).expect("request");
        let sig = issue(&sk, &req, &attrs, &mut rng).expect("issue");
        let cred = finish_credential(&pk, &sig, state, &secret, &attrs).expect("finish");
        let (nym, proof) = cred
            .prove(&pk, &[5; 32], &[6; 32], &mut rng)
            .expect("prove");
        Ctx {
            pk,
            sk,
            attrs,
            nym,
            proof,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let c = ctx();
    let _ = RegistrarSecretKey::from_bytes(data);
    let _ = RegistrarPublicKey::from_bytes(data);
    let _ = IssuanceState::from_bytes(data);
    let _ = BlindSignature::from_bytes(data);
    let _ = Pseudonym::from_bytes(data);
    if let Ok(req) = IssuanceRequest::from_bytes(data) {
        let _ = issue(&c.sk, &req, &c.attrs, &mut rand_core::OsRng);
    }
    if let Ok(cred) = Credential::from_bytes(data) {
        let _ = cred.prove(&c.pk, &[5; 32], &[6; 32], &mut rand_core::OsRng);
    }
    if let Ok(proof) = PseudonymProof::from_bytes(data) {
        let _ = verify(&c.pk, &[5; 32], &[6; 32], &c.attrs, &c.nym, &proof);
    }
    // Mutations of a real proof: XOR the input into it, so the fuzzer explores near-valid
    // proofs as well.
    let mut p = c.proof.to_bytes();
    for (i, b) in data.iter().enumerate() {
        p[i % PROOF_LEN] ^= b;
    }
    if let Ok(proof) = PseudonymProof::from_bytes(&p) {
        let _ = verify(&c.pk, &[5; 32], &[6; 32], &c.attrs, &c.nym, &proof);
    }
    if let Ok(nym) = Pseudonym::from_bytes(data) {
        let _ = verify(&c.pk, &[5; 32], &[6; 32], &c.attrs, &nym, &c.proof);
    }
});
