//! Shared test fixtures: a registrar with real keys, a real wallet, credential checks.
#![allow(dead_code)]

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use headcount_core::{Entry, Period, RegistrarId, testkit};
use headcount_credentials::{RegistrarPublicKey, RegistrarSecretKey};
use headcount_wallet::{Params, Passphrase, StoredCredential, Wallet};

/// A registrar: its keys, id and self-signed registrar entry.
pub struct Reg {
    pub signing: SigningKey,
    pub secret: RegistrarSecretKey,
    pub pk: RegistrarPublicKey,
    pub id: RegistrarId,
    pub entry: Vec<u8>,
}

pub fn registrar(seed: u8) -> Reg {
    let signing = testkit::test_key(seed);
    let secret = testkit::bbs_secret(seed);
    let pk = secret.public_key();
    let (entry, bytes) = testkit::registrar(&signing, pk.to_bytes(), "Test registrar");
    let Entry::Registrar(r) = &entry else {
        unreachable!()
    };
    Reg {
        id: r.id(),
        signing,
        secret,
        pk,
        entry: bytes,
    }
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Last month, and the clock offset (for [`headcount_registrar::Ledger::set_clock_offset`])
/// that puts a ledger in its middle: a test issues "last month", sets the offset back to 0,
/// and the month is over and can be closed.
pub fn last_month() -> (Period, i64) {
    let now = now();
    let mid_last = Period::containing(now).start() - 15 * 86_400;
    (Period::containing(mid_last), mid_last as i64 - now as i64)
}

pub fn wallet(dir: &Path) -> Wallet {
    Wallet::create(
        &dir.join("wallet"),
        &Passphrase::new("correct horse battery staple").unwrap(),
        Params::insecure_for_tests(),
    )
    .unwrap()
}

/// The credential proves a pseudonym for a campaign and the proof verifies; another scope
/// does not.
pub fn check_credential(c: &StoredCredential, reg: &Reg, period: Period) {
    assert_eq!(c.registrar_id(), reg.id.0);
    assert_eq!(c.period(), period);
    let scope = [7u8; 32];
    let header = [9u8; 32];
    let (nym, proof) = c
        .credential()
        .prove(&reg.pk, &scope, &header, &mut rand::rngs::OsRng)
        .unwrap();
    headcount_credentials::verify(&reg.pk, &scope, &header, &c.attributes(), &nym, &proof).unwrap();
    assert!(
        headcount_credentials::verify(&reg.pk, &[8u8; 32], &header, &c.attributes(), &nym, &proof)
            .is_err()
    );
}
