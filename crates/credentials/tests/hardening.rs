//! Malformed input never panics and is rejected; issuance rejects bad requests.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use headcount_credentials::*;
use rand::rngs::OsRng;
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};

type Decoder = fn(&[u8]) -> bool;

fn decoders() -> Vec<(&'static str, usize, Decoder)> {
    vec![
        ("RegistrarSecretKey", SECRET_KEY_LEN, |b| {
            RegistrarSecretKey::from_bytes(b).is_ok()
        }),
        ("RegistrarPublicKey", PUBLIC_KEY_LEN, |b| {
            RegistrarPublicKey::from_bytes(b).is_ok()
        }),
        ("IssuanceRequest", REQUEST_LEN, |b| {
            IssuanceRequest::from_bytes(b).is_ok()
        }),
        ("IssuanceState", STATE_LEN, |b| {
            IssuanceState::from_bytes(b).is_ok()
        }),
        ("BlindSignature", BLIND_SIGNATURE_LEN, |b| {
            BlindSignature::from_bytes(b).is_ok()
        }),
        ("Credential", CREDENTIAL_LEN, |b| {
            Credential::from_bytes(b).is_ok()
        }),
        ("Pseudonym", PSEUDONYM_LEN, |b| {
            Pseudonym::from_bytes(b).is_ok()
        }),
        ("PseudonymProof", PROOF_LEN, |b| {
            PseudonymProof::from_bytes(b).is_ok()
        }),
    ]
}

/// Scalar-only encodings accept most random strings of the right length; everything else
/// must reject random bytes.
fn random_ok_allowed(name: &str) -> bool {
    matches!(name, "RegistrarSecretKey" | "IssuanceState")
}

#[test]
fn every_length_is_rejected_without_panic() {
    let mut rng = StdRng::seed_from_u64(1);
    for (name, len, dec) in decoders() {
        for n in 0..=2 * len {
            if n == len {
                continue;
            }
            for fill in [0x00u8, 0xff, 0x80, 0xc0] {
                assert!(
                    !dec(&vec![fill; n]),
                    "{name} accepted {n} bytes of {fill:#x}"
                );
            }
            let mut b = vec![0u8; n];
            rng.fill_bytes(&mut b);
            assert!(!dec(&b), "{name} accepted {n} random bytes");
        }
        let mut accepted = 0;
        for _ in 0..200 {
            let mut b = vec![0u8; len];
            rng.fill_bytes(&mut b);
            if dec(&b) {
                accepted += 1;
            }
            // The same with the compression bit set, so point parsing is exercised.
            b[0] |= 0x80;
            b[0] &= !0x40;
            if dec(&b) {
                accepted += 1;
            }
        }
        if !random_ok_allowed(name) {
            assert_eq!(accepted, 0, "{name} accepted random bytes");
        }
        for fill in [0x00u8, 0xff] {
            // All-zero / all-ones of the right length: invalid for every type.
            assert!(!dec(&vec![fill; len]), "{name} accepted {fill:#x}*{len}");
        }
    }
}

struct Setup {
    sk: RegistrarSecretKey,
    pk: RegistrarPublicKey,
    attrs: Attributes,
    cred: Credential,
    nym: NymSecret,
}

fn setup() -> Setup {
    let mut rng = OsRng;
    let sk = RegistrarSecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let attrs = Attributes {
        registrar_id: [3u8; 32],
        period: 7,
    };
    let nym = NymSecret::from_key_material(&[5u8; 32]).unwrap();
    let (req, state) = request_credential(&nym, &mut rng).unwrap();
    let sig = issue(&sk, &req, &attrs, &mut rng).unwrap();
    let cred = finish_credential(&pk, &sig, state, &nym, &attrs).unwrap();
    Setup {
        sk,
        pk,
        attrs,
        cred,
        nym,
    }
}

#[test]
fn malformed_proofs_are_rejected_quickly() {
    let s = setup();
    let mut rng = StdRng::seed_from_u64(2);
    let (scope, header) = ([1u8; 32], [2u8; 32]);
    let (nym, proof) = s.cred.prove(&s.pk, &scope, &header, &mut OsRng).unwrap();
    verify(&s.pk, &scope, &header, &s.attrs, &nym, &proof).unwrap();
    let good = proof.to_bytes();
    let mut max = Duration::ZERO;
    // Every single-byte corruption position (a few flips each), and truncations/extensions.
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, rng.r#gen::<u8>() | 1] {
            let mut b = good.clone();
            b[i] ^= flip;
            let t = Instant::now();
            if let Ok(p) = PseudonymProof::from_bytes(&b) {
                assert!(verify(&s.pk, &scope, &header, &s.attrs, &nym, &p).is_err());
            }
            max = max.max(t.elapsed());
        }
    }
    for n in 0..good.len() + 64 {
        let mut b = good.clone();
        b.resize(n, 0);
        if n != good.len() {
            assert!(PseudonymProof::from_bytes(&b).is_err());
        }
    }
    // Corrupt pseudonyms: valid points that are not ours.
    let (other, _) = s
        .cred
        .prove(&s.pk, &[9u8; 32], &header, &mut OsRng)
        .unwrap();
    assert!(verify(&s.pk, &scope, &header, &s.attrs, &other, &proof).is_err());
    eprintln!("slowest malformed-proof rejection: {max:?}");
    assert!(max < Duration::from_secs(2), "slow rejection: {max:?}");
}

#[test]
fn issuance_rejects_bad_requests() {
    let s = setup();
    let mut rng = OsRng;
    let (req, _state) = request_credential(&s.nym, &mut rng).unwrap();
    let good = req.to_bytes();
    // Empty / short / long requests never decode.
    for n in [
        0usize,
        1,
        48,
        REQUEST_LEN - 32,
        REQUEST_LEN - 1,
        REQUEST_LEN + 1,
        REQUEST_LEN + 32,
    ] {
        let mut b = good.to_vec();
        b.resize(n, 0);
        assert!(IssuanceRequest::from_bytes(&b).is_err(), "len {n}");
    }
    // Identity commitment.
    let mut b = good;
    b[0] = 0xc0;
    b[1..48].fill(0);
    assert!(IssuanceRequest::from_bytes(&b).is_err());
    // Tampered proof scalars or commitment: decodes (still well-formed) but `issue` refuses.
    let mut rejected = 0;
    for i in [48usize, 60, 80, 100, 120, 143] {
        let mut b = good;
        b[i] ^= 0x01;
        if let Ok(r) = IssuanceRequest::from_bytes(&b) {
            assert!(issue(&s.sk, &r, &s.attrs, &mut rng).is_err(), "byte {i}");
            rejected += 1;
        }
    }
    assert!(rejected > 0);
    // A different valid commitment point with the original proof.
    let (other, _) = request_credential(&s.nym, &mut rng).unwrap();
    let mut b = good;
    b[..48].copy_from_slice(&other.to_bytes()[..48]);
    let r = IssuanceRequest::from_bytes(&b).unwrap();
    assert!(issue(&s.sk, &r, &s.attrs, &mut rng).is_err());
}

#[test]
fn finish_rejects_wrong_inputs() {
    let s = setup();
    let mut rng = OsRng;
    let (req, state) = request_credential(&s.nym, &mut rng).unwrap();
    let sig = issue(&s.sk, &req, &s.attrs, &mut rng).unwrap();
    let state_bytes = state.to_bytes();
    let st = || IssuanceState::from_bytes(state_bytes.as_ref()).unwrap();
    // Wrong key.
    let other = RegistrarSecretKey::generate(&mut rng).public_key();
    assert!(finish_credential(&other, &sig, st(), &s.nym, &s.attrs).is_err());
    // Wrong attributes.
    let mut a = s.attrs;
    a.period ^= 1;
    assert!(finish_credential(&s.pk, &sig, st(), &s.nym, &a).is_err());
    // Wrong nym secret.
    let n2 = NymSecret::from_key_material(&[6u8; 32]).unwrap();
    assert!(finish_credential(&s.pk, &sig, st(), &n2, &s.attrs).is_err());
    // Wrong state.
    let (_, st2) = request_credential(&s.nym, &mut rng).unwrap();
    assert!(finish_credential(&s.pk, &sig, st2, &s.nym, &s.attrs).is_err());
    // Tampered signature entropy.
    let mut b = sig.to_bytes();
    b[100] ^= 1;
    if let Ok(sig2) = BlindSignature::from_bytes(&b) {
        assert!(finish_credential(&s.pk, &sig2, st(), &s.nym, &s.attrs).is_err());
    }
    // Correct inputs work.
    let c = finish_credential(&s.pk, &sig, st(), &s.nym, &s.attrs).unwrap();
    // Two credentials of the same person (fresh signer entropy) are unlinkable.
    let (p1, _) = c.prove(&s.pk, &[1; 32], &[0; 32], &mut rng).unwrap();
    let (p2, _) = s.cred.prove(&s.pk, &[1; 32], &[0; 32], &mut rng).unwrap();
    assert_ne!(p1, p2);
}

#[test]
fn credential_from_another_registrar_is_rejected() {
    let s = setup();
    let mut rng = OsRng;
    let other_sk = RegistrarSecretKey::generate(&mut rng);
    let other_pk = other_sk.public_key();
    let (scope, header) = ([4u8; 32], [8u8; 32]);
    // Proving against a key that did not sign: either refused, or the proof fails.
    match s.cred.prove(&other_pk, &scope, &header, &mut rng) {
        Err(_) => {}
        Ok((n, p)) => assert!(verify(&other_pk, &scope, &header, &s.attrs, &n, &p).is_err()),
    }
    let (n, p) = s.cred.prove(&s.pk, &scope, &header, &mut rng).unwrap();
    assert!(verify(&other_pk, &scope, &header, &s.attrs, &n, &p).is_err());
}

#[test]
fn secrets_do_not_leak_in_debug() {
    let s = setup();
    let sk_hex: String = s.sk.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let cred_bytes = s.cred.to_bytes();
    let nym_hex: String = cred_bytes[CREDENTIAL_LEN - 32..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dbg = format!("{:?} {:?} {:?}", s.sk, s.cred, s.nym);
    assert!(!dbg.contains(&sk_hex));
    assert!(!dbg.contains(&nym_hex));
}
