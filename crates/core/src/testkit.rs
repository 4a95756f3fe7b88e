//! Deterministic example entries: the wire-format vectors, tests and the demo
//! build on them. Keys here are public knowledge; never use them for real.

use ed25519_dalek::SigningKey;

use crate::entry::*;
use crate::ids::*;

/// An Ed25519 key from a one-byte seed (test and vector use only).
pub fn test_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A valid BBS public key from a one-byte seed (test and vector use only).
pub fn bbs_key(seed: u8) -> [u8; 96] {
    bbs_secret(seed).public_key().to_bytes()
}

/// The BBS secret key behind [`bbs_key`].
pub fn bbs_secret(seed: u8) -> headcount_credentials::RegistrarSecretKey {
    headcount_credentials::RegistrarSecretKey::from_bytes(&[seed.max(1); 32])
        .expect("a small constant scalar is a valid key")
}

/// A registrar entry signed by `key`.
pub fn registrar(key: &SigningKey, bbs_key: [u8; 96], name: &str) -> (Entry, Vec<u8>) {
    Entry::Registrar(Registrar {
        signing_key: key.verifying_key().to_bytes(),
        bbs_key,
        name: name.into(),
        policy: "We meet each applicant in person and check one identity document.\n\
                 We keep no copy and no list of names."
            .into(),
        contact: "registrar@example.org".into(),
        signature: [0; 64],
    })
    .sign(key)
    .expect("fixed registrar fields are valid")
}

/// A bilingual campaign accepting `registrars`, open over `[opens_at, closes_at)`.
pub fn campaign(
    organiser: &SigningKey,
    mut registrars: Vec<RegistrarId>,
    opens_at: u64,
    closes_at: u64,
    difficulty: u8,
) -> (Entry, Vec<u8>) {
    registrars.sort();
    registrars.dedup();
    Entry::Campaign(Campaign {
        organiser_key: organiser.verifying_key().to_bytes(),
        texts: vec![
            CampaignText {
                lang: "en".into(),
                title: "Test campaign".into(),
                statement: "A statement.".into(),
            },
            CampaignText {
                lang: "zh".into(),
                title: "测试".into(),
                statement: "声明。".into(),
            },
        ],
        addressees: vec!["Everyone".into()],
        registrars,
        opens_at,
        closes_at,
        unverified_difficulty: difficulty,
        min_anonymity: crate::entry::limits::MIN_ANONYMITY,
        signature: [0; 64],
    })
    .sign(organiser)
    .expect("fixed campaign fields are valid")
}

/// A vouched declaration signed by the registrar's key.
pub fn vouched(
    registrar_key: &SigningKey,
    registrar: RegistrarId,
    campaign: CampaignId,
    reference: [u8; 32],
    alias: &str,
) -> (Entry, Vec<u8>) {
    Entry::VouchedDeclaration(VouchedDeclaration {
        campaign,
        registrar,
        reference: VouchReference(reference),
        alias: alias.into(),
        message: String::new(),
        signature: [0; 64],
    })
    .sign(registrar_key)
    .expect("vouched fields are valid")
}

/// The issuance period entry for `period`, signed by the registrar's key.
pub fn period(
    registrar_key: &SigningKey,
    registrar: RegistrarId,
    period: crate::period::Period,
    size: u32,
) -> (Entry, Vec<u8>) {
    Entry::IssuancePeriod(IssuancePeriod {
        registrar,
        period,
        size,
        signature: [0; 64],
    })
    .sign(registrar_key)
    .expect("period fields are valid")
}

/// A registrar's retirement, signed by its key.
pub fn retirement(registrar_key: &SigningKey, registrar: RegistrarId) -> (Entry, Vec<u8>) {
    Entry::RegistrarRetirement(RegistrarRetirement {
        registrar,
        reason: "Our signing key may have been copied.".into(),
        signature: [0; 64],
    })
    .sign(registrar_key)
    .expect("retirement fields are valid")
}

/// An unverified declaration with enough work for `difficulty`.
pub fn unverified(campaign: CampaignId, alias: &str, difficulty: u8) -> (Entry, Vec<u8>) {
    let d = crate::pow::solve(
        UnverifiedDeclaration {
            campaign,
            alias: alias.into(),
            message: String::new(),
            nonce: 0,
        },
        difficulty,
    );
    Entry::UnverifiedDeclaration(d)
        .build()
        .expect("unverified fields are valid")
}
