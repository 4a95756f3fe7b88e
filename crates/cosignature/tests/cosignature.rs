//! cosignature/v1 signer and verifier: spec examples, round trips, failures.

use base64::prelude::*;
use headcount_cosignature::{
    ALG_COSIGNATURE_V1, COSIGNATURE_LEN, CosignatureSigner, CosignatureVerifier, Error,
    LogVerifier, cosigned_message, split_note,
};
use sha2::{Digest, Sha256};
use signed_note::{Note, Signature, VerifierList};

const BODY: &[u8] =
    b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

fn signer(name: &str) -> CosignatureSigner {
    CosignatureSigner::generate(name).expect("valid name").0
}

fn cosigned(s: &CosignatureSigner, body: &[u8], t: u64) -> Vec<u8> {
    let sig = s.cosign(body, t).expect("cosign");
    let mut note = body.to_vec();
    note.push(b'\n');
    note.extend(sig.to_bytes());
    note
}

/// tlog-cosignature.md: the example signed message for `time 1679315147`.
#[test]
fn spec_signed_message_layout() {
    let want = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(cosigned_message(BODY, 1679315147), want.as_bytes());
    // No leading zeros, decimal.
    assert!(cosigned_message(BODY, 7).starts_with(b"cosignature/v1\ntime 7\n"));
}

/// tlog-cosignature.md: the example cosignature line has a 4-byte key ID, then the
/// big-endian u64 timestamp 1679315147 (the spec's example time), then 64 bytes.
#[test]
fn spec_example_cosignature_line_layout() {
    let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = Signature::from_bytes(line.as_bytes()).expect("parses");
    assert_eq!(sig.name(), "witness.example.com/w1");
    assert_eq!(sig.id(), 0x8d66_cf3f);
    assert_eq!(sig.signature().len(), COSIGNATURE_LEN);
    let ts = u64::from_be_bytes(sig.signature()[..8].try_into().expect("8 bytes"));
    assert_eq!(ts, 1679315147);
}

/// signed-note.md: the example vkey verifies the example note (type 0x01, a log key).
#[test]
fn spec_signed_note_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let v = LogVerifier::from_vkey(vkey).expect("vkey");
    assert_eq!(v.name(), "example.com/foo");
    assert_eq!(v.key_id(), 0x530d903a);
    assert_eq!(v.vkey(), vkey);
    let split = split_note(note.as_bytes()).expect("note");
    assert!(v.matches(&split.sigs[0]));
    assert!(v.verify_signature(split.text, split.sigs[0].signature()));
    assert!(!v.verify_signature(b"This is an example message!\n", split.sigs[0].signature()));
    // Through signed_note's generic verification, with our type as the verifier.
    let n = Note::from_bytes(note.as_bytes()).expect("note");
    let (ok, _) = n
        .verify(&VerifierList::new(vec![Box::new(v)]))
        .expect("verifies");
    assert_eq!(ok.len(), 1);
    // A 0x01 key is not a cosignature key.
    assert_eq!(
        CosignatureVerifier::from_vkey(vkey),
        Err(Error::UnsupportedKeyType(0x01))
    );
}

#[test]
fn key_id_and_vkey_follow_the_spec() {
    let (s, skey, vkey) = CosignatureSigner::generate("witness.example/w1").expect("gen");
    let v = CosignatureVerifier::from_vkey(&vkey).expect("vkey");
    let mut h = Sha256::new();
    h.update(b"witness.example/w1\n");
    h.update([ALG_COSIGNATURE_V1]);
    h.update(v.public_key());
    let want = u32::from_be_bytes(h.finalize()[..4].try_into().expect("4"));
    assert_eq!(v.key_id(), want);
    assert_eq!(s.key_id(), want);
    assert_eq!(
        vkey,
        format!(
            "witness.example/w1+{want:08x}+{}",
            BASE64_STANDARD.encode([&[0x04][..], v.public_key()].concat())
        )
    );
    assert!(skey.starts_with(&format!("PRIVATE+KEY+witness.example/w1+{want:08x}+")));
    let s2 = CosignatureSigner::from_skey(&skey).expect("skey");
    assert_eq!(s2.vkey(), vkey);
    assert_eq!(s2.name(), "witness.example/w1");
    assert_eq!(s.verifier(), v);
    // Debug never prints the secret. (The key's base64 may itself contain
    // '+', so take everything after the fourth '+', not after the last.)
    let secret_b64 = skey.splitn(5, '+').nth(4).expect("b64");
    assert!(secret_b64.len() >= 40);
    assert!(!format!("{s:?}").contains(secret_b64));
}

#[test]
fn round_trip() {
    let s = signer("w.example/1");
    let v = CosignatureVerifier::from_vkey(&s.vkey()).expect("vkey");
    let note = cosigned(&s, BODY, 1_700_000_000);
    assert_eq!(v.verify(&note), Ok(1_700_000_000));
    // Max allowed timestamp.
    let note = cosigned(&s, BODY, (1 << 63) - 1);
    assert_eq!(v.verify(&note), Ok((1 << 63) - 1));
}

#[test]
fn interop_with_signed_note() {
    let s = signer("w.example/1");
    let v = s.verifier();
    // Sign through signed_note (Signer impl, current time), verify with ours.
    let mut n = Note::new(BODY, &[]).expect("note");
    n.add_sigs(&[&s]).expect("sign");
    let bytes = n.to_bytes();
    let t = v.verify(&bytes).expect("verifies");
    assert!(t > 1_600_000_000);
    // Sign with ours, verify through signed_note (Verifier impl).
    let note = cosigned(&s, BODY, 42);
    let n = Note::from_bytes(&note).expect("note");
    let (ok, unknown) = n
        .verify(&VerifierList::new(vec![Box::new(v.clone())]))
        .expect("verifies");
    assert_eq!(ok.len(), 1);
    assert!(unknown.is_empty());
    assert!(signed_note::Verifier::verify(&v, BODY, ok[0].signature()));
    assert!(!signed_note::Verifier::verify(
        &v,
        b"x\n",
        ok[0].signature()
    ));
}

#[test]
fn wrong_key_is_missing_signature() {
    let s = signer("w.example/1");
    let other = signer("w.example/1");
    let note = cosigned(&s, BODY, 5);
    assert!(matches!(
        other.verifier().verify(&note),
        Err(Error::MissingSignature { .. })
    ));
    // Same key, other name: also a different key ID.
    let renamed = CosignatureSigner::from_signing_key(
        "w.example/2",
        ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    )
    .expect("name");
    assert!(matches!(
        renamed.verifier().verify(&note),
        Err(Error::MissingSignature { .. })
    ));
}

#[test]
fn tampered_body_fails() {
    let s = signer("w.example/1");
    let note = cosigned(&s, BODY, 5);
    let tampered = String::from_utf8(note)
        .expect("utf8")
        .replace("20852163", "20852164");
    assert!(matches!(
        s.verifier().verify(tampered.as_bytes()),
        Err(Error::InvalidSignature { .. })
    ));
}

#[test]
fn wrong_timestamp_fails() {
    let s = signer("w.example/1");
    let sig = s.cosign(BODY, 1000).expect("cosign");
    let mut raw = sig.signature().to_vec();
    raw[7] ^= 1; // timestamp 1001
    assert!(matches!(
        s.verifier().verify_signature(BODY, &raw),
        Err(Error::InvalidSignature { .. })
    ));
    raw[0] = 0x80; // > 2^63 - 1
    assert_eq!(
        s.verifier().verify_signature(BODY, &raw),
        Err(Error::TimestampOutOfRange)
    );
    assert!(matches!(
        s.verifier().verify_signature(BODY, &raw[..71]),
        Err(Error::MalformedSignature { .. })
    ));
}

#[test]
fn one_bad_line_from_the_key_rejects_the_note() {
    let s = signer("w.example/1");
    let good = s.cosign(BODY, 5).expect("cosign");
    let mut bad_raw = good.signature().to_vec();
    bad_raw[20] ^= 1;
    let bad = Signature::new(s.name().into(), s.key_id(), bad_raw).expect("sig");
    let mut note = BODY.to_vec();
    note.push(b'\n');
    note.extend(good.to_bytes());
    note.extend(bad.to_bytes());
    assert!(matches!(
        s.verifier().verify(&note),
        Err(Error::InvalidSignature { .. })
    ));
}

#[test]
fn cosign_rejects_bad_input() {
    let s = signer("w.example/1");
    assert_eq!(s.cosign(BODY, 0), Err(Error::TimestampOutOfRange));
    assert_eq!(s.cosign(BODY, 1 << 63), Err(Error::TimestampOutOfRange));
    assert_eq!(
        s.cosign(b"not a checkpoint\n", 1),
        Err(Error::MalformedCheckpoint)
    );
    assert_eq!(
        s.cosign(b"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", 1),
        Err(Error::MalformedCheckpoint)
    );
}

#[test]
fn key_parsing_errors() {
    assert!(CosignatureSigner::generate("bad name").is_err());
    assert!(CosignatureSigner::generate("a+b").is_err());
    let (_, skey, vkey) = CosignatureSigner::generate("w.example/1").expect("gen");
    assert!(CosignatureSigner::from_skey(&vkey).is_err());
    assert!(CosignatureVerifier::from_vkey(&skey).is_err());
    // Key ID tampered.
    let mut parts: Vec<String> = vkey.split('+').map(String::from).collect();
    parts[1] = "00000000".into();
    assert!(matches!(
        CosignatureVerifier::from_vkey(&parts.join("+")),
        Err(Error::MalformedKey(_))
    ));
    // Name tampered.
    let renamed = vkey.replacen("w.example/1", "w.example/2", 1);
    assert!(CosignatureVerifier::from_vkey(&renamed).is_err());
    // Type byte 0x01 with the same key: id mismatch or wrong type, never accepted.
    let skey01 = skey.replacen("+B", "+A", 1);
    assert!(CosignatureSigner::from_skey(&skey01).is_err());
    assert!(CosignatureVerifier::from_vkey("").is_err());
    assert!(CosignatureVerifier::from_vkey("a+b+c").is_err());
}
