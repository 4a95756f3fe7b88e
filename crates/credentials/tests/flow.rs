//! End-to-end behaviour of the public API.
#![allow(clippy::unwrap_used)]

use headcount_credentials::*;
use rand::rngs::OsRng;

struct Fixture {
    sk: RegistrarSecretKey,
    pk: RegistrarPublicKey,
    attrs: Attributes,
    cred: Credential,
}

fn setup() -> Fixture {
    let mut rng = OsRng;
    let sk = RegistrarSecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let attrs = Attributes {
        registrar_id: [7u8; 32],
        period: 42,
    };
    let nym = NymSecret::generate(&mut rng);
    let (req, state) = request_credential(&nym, &mut rng).unwrap();
    let sig = issue(&sk, &req, &attrs, &mut rng).unwrap();
    let cred = finish_credential(&pk, &sig, state, &nym, &attrs).unwrap();
    Fixture {
        sk,
        pk,
        attrs,
        cred,
    }
}

#[test]
fn round_trip_and_linkability() {
    let f = setup();
    let mut rng = OsRng;
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let (h1, h2) = ([9u8; 32], [10u8; 32]);
    let (n1, p1) = f.cred.prove(&f.pk, &a, &h1, &mut rng).unwrap();
    let (n1b, p1b) = f.cred.prove(&f.pk, &a, &h2, &mut rng).unwrap();
    let (n2, p2) = f.cred.prove(&f.pk, &b, &h1, &mut rng).unwrap();
    assert_eq!(n1, n1b, "same scope, same pseudonym");
    assert_ne!(n1, n2, "different scopes, different pseudonyms");
    assert_eq!(p1.as_bytes().len(), PROOF_LEN);
    verify(&f.pk, &a, &h1, &f.attrs, &n1, &p1).unwrap();
    verify(&f.pk, &a, &h2, &f.attrs, &n1b, &p1b).unwrap();
    verify(&f.pk, &b, &h1, &f.attrs, &n2, &p2).unwrap();
    // scope A proof under scope B
    assert!(verify(&f.pk, &b, &h1, &f.attrs, &n1, &p1).is_err());
    assert!(verify(&f.pk, &b, &h1, &f.attrs, &n2, &p1).is_err());
    // wrong header
    assert!(verify(&f.pk, &a, &h2, &f.attrs, &n1, &p1).is_err());
    // wrong pseudonym
    assert!(verify(&f.pk, &a, &h1, &f.attrs, &n2, &p1).is_err());
    // wrong attributes
    let mut wrong = f.attrs;
    wrong.period += 1;
    assert!(verify(&f.pk, &a, &h1, &wrong, &n1, &p1).is_err());
    let mut wrong = f.attrs;
    wrong.registrar_id[0] ^= 1;
    assert!(verify(&f.pk, &a, &h1, &wrong, &n1, &p1).is_err());
    // another registrar key
    let other = RegistrarSecretKey::generate(&mut rng).public_key();
    assert!(verify(&other, &a, &h1, &f.attrs, &n1, &p1).is_err());
    assert!(
        f.cred.prove(&other, &a, &h1, &mut rng).is_err() || {
            let (n, p) = f.cred.prove(&other, &a, &h1, &mut rng).unwrap();
            verify(&other, &a, &h1, &f.attrs, &n, &p).is_err()
        }
    );
    // serialisation round trips
    let c2 = Credential::from_bytes(f.cred.to_bytes().as_ref()).unwrap();
    let (n3, _) = c2.prove(&f.pk, &a, &h1, &mut rng).unwrap();
    assert_eq!(n3, n1);
    assert_eq!(c2.attributes(), f.attrs);
    let sk2 = RegistrarSecretKey::from_bytes(f.sk.to_bytes().as_ref()).unwrap();
    assert_eq!(sk2.public_key(), f.pk);
    assert_eq!(
        RegistrarPublicKey::from_bytes(f.pk.as_bytes()).unwrap(),
        f.pk
    );
    assert_eq!(Pseudonym::from_bytes(n1.as_bytes()).unwrap(), n1);
    assert_eq!(PseudonymProof::from_bytes(p1.as_bytes()).unwrap(), p1);
}
