//! The fast verifier on arbitrary input: proofs of any length up to 4,096 octets, random
//! and mutated points and scalars, any pseudonym, key, scope, header and attributes. It must
//! never panic, a batch must give each item the verdict `verify` gives it, and where the
//! input has the exact shape the zkryptium reference accepts as input, both must agree.
#![no_main]

use headcount_credentials::*;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Ctx {
    pk: [u8; 96],
    attrs: Attributes,
    nym: [u8; 48],
    proof: Vec<u8>,
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
        let (nym, proof) = cred.prove(&pk, &[5; 32], &[6; 32], &mut rng).expect("prove");
        Ctx {
            pk: pk.to_bytes(),
            attrs,
            nym: nym.to_bytes(),
            proof: proof.to_bytes(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let c = ctx();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let rest = &rest[..rest.len().min(4096 + 96 + 48)];
    // mode selects what the input replaces; the rest of the presentation stays valid.
    let mut pk = c.pk;
    let mut nym = c.nym.to_vec();
    let mut proof = c.proof.clone();
    let mut scope = [5u8; 32];
    let header = [6u8; 32];
    let mut attrs = c.attrs;
    match mode % 6 {
        0 => proof = rest.to_vec(),
        1 => {
            // Overwrite the proof from an offset: mutated points and scalars.
            let at = usize::from(rest.first().copied().unwrap_or(0)) % proof.len();
            for (i, b) in rest.iter().skip(1).enumerate() {
                if at + i < proof.len() {
                    proof[at + i] = *b;
                } else {
                    proof.push(*b);
                }
            }
        }
        2 => nym = rest.to_vec(),
        3 => {
            let n = rest.len().min(96);
            pk[..n].copy_from_slice(&rest[..n]);
        }
        4 => {
            let n = rest.len().min(32);
            scope[..n].copy_from_slice(&rest[..n]);
            if rest.len() >= 36 {
                attrs.period = u32::from_be_bytes([rest[32], rest[33], rest[34], rest[35]]);
            }
        }
        _ => {
            // Swap two proof segments (points and scalars) chosen by the input.
            let seg = |b: u8| usize::from(b % 9);
            let (a, b) = (seg(*rest.first().unwrap_or(&0)), seg(*rest.get(1).unwrap_or(&1)));
            let range = |s: usize| if s < 3 { s * 48..s * 48 + 48 } else { 144 + (s - 3) * 32..176 + (s - 3) * 32 };
            let (ra, rb) = (range(a), range(b));
            if ra.len() == rb.len() {
                let tmp: Vec<u8> = proof[ra.clone()].to_vec();
                proof.copy_within(rb.clone(), ra.start);
                proof[rb].copy_from_slice(&tmp);
            }
        }
    }
    let p = Presentation {
        public_key: &pk,
        scope: &scope,
        header: &header,
        attributes: attrs,
        pseudonym: &nym,
        proof: &proof,
    };
    let single = Verifier::global().verify(&p).is_ok();
    let valid = Presentation {
        pseudonym: &c.nym,
        proof: &c.proof,
        public_key: &c.pk,
        scope: &[5; 32],
        attributes: c.attrs,
        ..p
    };
    let batch = Verifier::global().verify_batch(&[valid, p, valid]);
    assert!(batch[0].is_ok() && batch[2].is_ok(), "a valid proof failed in a batch");
    assert_eq!(batch[1].is_ok(), single, "batch and single verdicts differ");
    if proof.len() == PROOF_LEN && nym.len() == PSEUDONYM_LEN {
        let reference = reference::verify(&pk, &scope, &header, &attrs, &nym, &proof);
        assert_eq!(reference, single, "zkryptium and the fast verifier differ");
    }
});
