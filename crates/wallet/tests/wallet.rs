//! Wallet file tests: round trip, wrong passphrase, tampering, no plaintext on disk,
//! identity derivation, atomic save, redaction, the issuance month, per-credential prover
//! secrets, pending entries.

use headcount_core::{EntryHash, Period};
use headcount_credentials::{Attributes, NymSecret, RegistrarSecretKey, issue};
use headcount_wallet::format::TAG_LEN;
use headcount_wallet::slots::{DEFAULT_SLOT_LEN, HEADER_LEN, SLOT_OVERHEAD, SLOTS};

const FILE_LEN: usize = HEADER_LEN + SLOTS * (SLOT_OVERHEAD + DEFAULT_SLOT_LEN);
use headcount_wallet::{
    Error, Identity, Params, Passphrase, PendingEntry, PendingIssuance, Receipt, ReceiptKind,
    Wallet,
};
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

const P: Params = Params::insecure_for_tests();

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The middle of the current month: far from either edge, whenever the tests run.
fn mid_month() -> u64 {
    Period::containing(now()).start() + 14 * 86_400
}

fn pending_entry(i: u8) -> PendingEntry {
    PendingEntry {
        campaign_id: [0xA0 ^ i; 32],
        kind: if i.is_multiple_of(2) {
            ReceiptKind::Declaration
        } else {
            ReceiptKind::Withdrawal
        },
        created: 1_800_000_000 + u64::from(i),
        entry: format!("PENDING-ENTRY-BYTES-{i}-alias-and-message").into_bytes(),
    }
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s).unwrap()
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn wpath(d: &tempfile::TempDir) -> PathBuf {
    d.path().join("wallet.hcw")
}

fn receipt(i: u8) -> Receipt {
    Receipt {
        campaign_id: [0xC0 ^ i; 32],
        entry_hash: [0xE0 ^ i; 32],
        leaf_index: 1_000_000 + u64::from(i),
        kind: if i.is_multiple_of(2) {
            ReceiptKind::Declaration
        } else {
            ReceiptKind::Withdrawal
        },
        tlog_proof: format!(
            "c2sp.org/tlog-proof@v1\nindex {i}\nSECRET-PROOF-TEXT-{i}\n\nexample.org/log\n42\nAAAA\n"
        ),
        entry: format!("ENTRY-BYTES-{i}-alias-and-message").into_bytes(),
    }
}

/// A wallet with one real credential (issued this month), one pending issuance, three
/// receipts and one pending entry.
fn populated(path: &Path, p: &Passphrase) -> Wallet {
    let mut w = Wallet::create(path, p, P).unwrap();
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let pk = sk.public_key();
    let month = Period::containing(mid_month());
    let attrs = Attributes {
        registrar_id: [7; 32],
        period: month.0,
    };
    let req = w.start_issuance(attrs.registrar_id, Some(month)).unwrap();
    let id = PendingIssuance::request_id_of(&req);
    let sig = issue(&sk, &req, &attrs, &mut OsRng).unwrap();
    w.finish_issuance(&id, &pk, &sig, &attrs, mid_month())
        .unwrap();
    assert!(w.pending_issuances().is_empty());
    w.start_issuance([9; 32], None).unwrap();
    for i in 0..3 {
        w.add_receipt(receipt(i));
    }
    w.add_pending_entry(pending_entry(1));
    w.save().unwrap();
    w
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn listing(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn create_open_round_trip() {
    let d = dir();
    let p = pass("correct horse battery staple");
    let w = populated(&wpath(&d), &p);
    let r = Wallet::open(&wpath(&d), &p).unwrap();
    assert_eq!(r.params(), P);
    assert_eq!(r.salt(), w.salt());
    assert!(bool::from(r.nym_secret().ct_eq(w.nym_secret())));
    assert_eq!(r.credentials().len(), 1);
    let (a, b) = (&r.credentials()[0], &w.credentials()[0]);
    assert_eq!(*a.credential().to_bytes(), *b.credential().to_bytes());
    assert_eq!(a.registrar_public_key(), b.registrar_public_key());
    assert_eq!(
        (a.registrar_id(), a.period()),
        ([7; 32], Period::containing(mid_month()))
    );
    assert_eq!(r.pending_issuances().len(), 1);
    let (a, b) = (&r.pending_issuances()[0], &w.pending_issuances()[0]);
    assert_eq!(a.request_id, b.request_id);
    assert_eq!((a.registrar_id, a.period), ([9; 32], None));
    assert_eq!(a.prover_key_material, b.prover_key_material);
    assert_eq!(a.request, b.request);
    assert_eq!(*a.state.to_bytes(), *b.state.to_bytes());
    assert_eq!(r.receipts(), w.receipts());
    assert_eq!(r.pending_entries(), w.pending_entries());
    assert_eq!(r.pending_entries(), [pending_entry(1)]);
    assert_eq!(r.receipts_for_campaign(&[0xC1; 32]).count(), 1);

    // The credential still works after the round trip.
    let c = &r.credentials()[0];
    c.credential()
        .prove(c.registrar_public_key(), &[1; 32], &[2; 32], &mut OsRng)
        .unwrap();
}

#[test]
fn offline_issuance_keeps_pending_on_bad_answer() {
    let d = dir();
    let p = pass("pw");
    let mut w = Wallet::create(&wpath(&d), &p, P).unwrap();
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let other = RegistrarSecretKey::generate(&mut OsRng).public_key();
    let month = Period::containing(mid_month());
    let attrs = Attributes {
        registrar_id: [1; 32],
        period: month.0,
    };
    let req = w.start_issuance(attrs.registrar_id, Some(month)).unwrap();
    w.save().unwrap();
    // Request → (file) → registrar → (file) → finish in a later session.
    let mut w = Wallet::open(&wpath(&d), &p).unwrap();
    let id = PendingIssuance::request_id_of(&req);
    let sig = issue(&sk, &req, &attrs, &mut OsRng).unwrap();
    let now = mid_month();
    assert!(w.finish_issuance(&id, &other, &sig, &attrs, now).is_err());
    let wrong = Attributes {
        registrar_id: [2; 32],
        ..attrs
    };
    assert!(matches!(
        w.finish_issuance(&id, &sk.public_key(), &sig, &wrong, now),
        Err(Error::IssuanceMismatch)
    ));
    // The request named its month: another month is a mismatch.
    let next = Attributes {
        period: month.next().0,
        ..attrs
    };
    let next_sig = issue(&sk, &req, &next, &mut OsRng).unwrap();
    assert!(matches!(
        w.finish_issuance(&id, &sk.public_key(), &next_sig, &next, month.end()),
        Err(Error::IssuanceMismatch)
    ));
    assert!(matches!(
        w.finish_issuance(&[0; 32], &sk.public_key(), &sig, &attrs, now),
        Err(Error::UnknownRequest)
    ));
    assert_eq!(w.pending_issuances().len(), 1);
    w.finish_issuance(&id, &sk.public_key(), &sig, &attrs, now)
        .unwrap();
    assert!(w.pending_issuances().is_empty());
    assert_eq!(w.credentials().len(), 1);
}

#[test]
fn wrong_passphrase_fails_and_reveals_nothing() {
    let d = dir();
    populated(&wpath(&d), &pass("zulu-alpha"));
    for wrong in ["kilo-bravo", "zulu-alpha ", "Zulu-alpha", "zulu-alph"] {
        let e = Wallet::open(&wpath(&d), &pass(wrong)).unwrap_err();
        assert!(matches!(e, Error::WrongPassphraseOrCorrupt), "{e:?}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("zulu") && !text.contains(wrong) && !text.contains("c1c1"));
    }
}

#[test]
fn any_flipped_byte_fails() {
    let d = dir();
    let p = pass("pw");
    populated(&wpath(&d), &p);
    let good = std::fs::read(wpath(&d)).unwrap();
    assert_eq!(good.len(), FILE_LEN);
    let bad = d.path().join("bad.hcw");
    let slot_size = SLOT_OVERHEAD + DEFAULT_SLOT_LEN;
    let flip_opens = |i: usize, bit: u8| {
        let mut b = good.clone();
        b[i] ^= bit;
        std::fs::write(&bad, &b).unwrap();
        match Wallet::open(&bad, &p) {
            Ok(_) => true,
            Err(Error::WrongPassphraseOrCorrupt) => false,
            Err(Error::NotAWallet) | Err(Error::UnsupportedVersion(_)) if i < 9 => false,
            other => panic!("byte {i} bit {bit:#x}: {other:?}"),
        }
    };
    // Every header byte (associated data of every slot) fails.
    for i in 0..HEADER_LEN {
        for bit in [0x01u8, 0x80] {
            assert!(!flip_opens(i, bit), "header byte {i}");
        }
    }
    // The identity's slot is the one whose first salt byte matters.
    let own: Vec<usize> = (0..SLOTS)
        .filter(|s| !flip_opens(HEADER_LEN + s * slot_size, 0x01))
        .collect();
    assert_eq!(own.len(), 1);
    // There, every salt, nonce and tag byte, and a stride through the ciphertext, fails; the
    // other slot is random bytes nothing reads, so flips there change nothing.
    for s in 0..SLOTS {
        let start = HEADER_LEN + s * slot_size;
        let end = start + slot_size;
        if s == own[0] {
            let idx = (start..start + 40)
                .chain((start + 40..end - TAG_LEN).step_by(65_521))
                .chain(end - TAG_LEN..end);
            for i in idx {
                assert!(!flip_opens(i, 0x01), "byte {i}");
            }
        } else {
            for i in [start, start + 20, start + 40, end / 2 + start / 2, end - 1] {
                assert!(flip_opens(i, 0x80), "byte {i} of the random slot");
            }
        }
    }
    // Truncated and extended files.
    for len in [0, 7, 8, 9, HEADER_LEN, HEADER_LEN + TAG_LEN, good.len() - 1] {
        std::fs::write(&bad, &good[..len]).unwrap();
        assert!(Wallet::open(&bad, &p).is_err(), "len {len}");
    }
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&bad, &longer).unwrap();
    assert!(matches!(
        Wallet::open(&bad, &p),
        Err(Error::WrongPassphraseOrCorrupt)
    ));
    std::fs::write(&bad, &good).unwrap();
    Wallet::open(&bad, &p).unwrap();
}

#[test]
fn nothing_in_clear_on_disk() {
    let d = dir();
    // Long enough that a chance match in 64 KiB of ciphertext is out of the question.
    let p = pass("quiet lantern over the harbour");
    let w = populated(&wpath(&d), &p);
    let raw = std::fs::read(wpath(&d)).unwrap();
    let mut needles: Vec<Vec<u8>> = Vec::new();
    let c = &w.credentials()[0];
    let cred = c.credential().to_bytes();
    // Any 12-byte window of the credential, and the key and registrar id.
    needles.extend(cred.chunks(12).map(<[u8]>::to_vec));
    needles.push(c.registrar_public_key().as_bytes()[..16].to_vec());
    needles.push([7u8; 16].to_vec());
    let pend = &w.pending_issuances()[0];
    needles.push(pend.request.to_bytes()[..16].to_vec());
    needles.push(pend.state.to_bytes()[..16].to_vec());
    needles.push(pend.request_id[..16].to_vec());
    needles.push(pend.prover_key_material[..12].to_vec());
    for e in w.pending_entries() {
        needles.push(e.campaign_id[..12].to_vec());
        needles.push(e.entry.clone());
        needles.push(b"PENDING-ENTRY".to_vec());
        needles.push(e.entry_hash()[..12].to_vec());
    }
    for r in w.receipts() {
        needles.push(r.campaign_id[..12].to_vec());
        needles.push(r.entry_hash[..12].to_vec());
        needles.push(r.tlog_proof.as_bytes().to_vec());
        needles.push(b"SECRET-PROOF-TEXT".to_vec());
        needles.push(b"tlog-proof".to_vec());
        needles.push(r.entry.clone());
        needles.push(b"ENTRY-BYTES".to_vec());
        needles.push(r.leaf_index.to_be_bytes()[4..].to_vec());
        needles.push(hex(&r.campaign_id[..8]).into_bytes());
    }
    for n in &needles {
        assert!(!contains(&raw, n), "found {n:02x?} in the file");
    }
    // The passphrase is not there either.
    assert!(!contains(&raw, b"quiet lantern over the harbour"));
    assert!(!contains(&raw, b"lantern over"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn file_size_does_not_follow_the_receipt_count() {
    let d = dir();
    let p = pass("pw");
    let mut w = Wallet::create(&wpath(&d), &p, P).unwrap();
    let empty = std::fs::metadata(wpath(&d)).unwrap().len();
    for i in 0..10 {
        w.add_receipt(receipt(i));
    }
    w.save().unwrap();
    assert_eq!(std::fs::metadata(wpath(&d)).unwrap().len(), empty);
    assert_eq!(empty as usize, FILE_LEN);
}

#[test]
fn same_passphrase_new_salt_new_identity() {
    let d = dir();
    let p = pass("same passphrase");
    let a = Wallet::create(&d.path().join("a"), &p, P).unwrap();
    let b = Wallet::create(&d.path().join("b"), &p, P).unwrap();
    assert_ne!(a.salt(), b.salt());
    assert!(!bool::from(a.nym_secret().ct_eq(b.nym_secret())));
}

#[test]
fn passphrase_and_salt_reproduce_the_nym_secret() {
    let d = dir();
    let p = pass("restore me");
    let w = Wallet::create(&wpath(&d), &p, P).unwrap();
    let again = Identity::derive(&pass("restore me"), &w.salt(), &w.params()).unwrap();
    assert!(bool::from(again.nym_secret().ct_eq(w.nym_secret())));
    let other = Identity::derive(&pass("restore me!"), &w.salt(), &w.params()).unwrap();
    assert!(!bool::from(other.nym_secret().ct_eq(w.nym_secret())));
    let mut salt = w.salt();
    salt[0] ^= 1;
    let other = Identity::derive(&p, &salt, &w.params()).unwrap();
    assert!(!bool::from(other.nym_secret().ct_eq(w.nym_secret())));
    let mut params = w.params();
    params.t_cost += 1;
    let other = Identity::derive(&p, &w.salt(), &params).unwrap();
    assert!(!bool::from(other.nym_secret().ct_eq(w.nym_secret())));
}

#[test]
fn unicode_passphrases_are_nfc_normalised() {
    // "é" precomposed vs "e" + combining acute; CJK passes through.
    let a = Identity::derive(&pass("caf\u{e9} 自由"), &[5; 16], &P).unwrap();
    let b = Identity::derive(&pass("cafe\u{301} 自由"), &[5; 16], &P).unwrap();
    assert!(bool::from(a.nym_secret().ct_eq(b.nym_secret())));
}

#[test]
fn passphrase_file_first_line() {
    let d = dir();
    let f = d.path().join("pass");
    let reference = Identity::derive(&pass("line one"), &[1; 16], &P).unwrap();
    for content in [
        "line one",
        "line one\n",
        "line one\r\n",
        "line one\nsecond\n",
    ] {
        std::fs::write(&f, content).unwrap();
        let p = Passphrase::from_file(&f).unwrap();
        let id = Identity::derive(&p, &[1; 16], &P).unwrap();
        assert!(
            bool::from(id.nym_secret().ct_eq(reference.nym_secret())),
            "{content:?}"
        );
    }
    std::fs::write(&f, "\nsecond").unwrap();
    assert!(matches!(
        Passphrase::from_file(&f),
        Err(Error::EmptyPassphrase)
    ));
    std::fs::write(&f, b"\xff\xfe\n").unwrap();
    assert!(matches!(
        Passphrase::from_file(&f),
        Err(Error::PassphraseNotUtf8)
    ));
    assert!(matches!(
        Passphrase::from_file(&d.path().join("missing")),
        Err(Error::PassphraseFile(_))
    ));
    assert!(matches!(Passphrase::new(""), Err(Error::EmptyPassphrase)));
}

#[test]
fn create_never_overwrites_and_save_is_atomic() {
    let d = dir();
    let p = pass("pw");
    let mut w = Wallet::create(&wpath(&d), &p, P).unwrap();
    let before = std::fs::read(wpath(&d)).unwrap();
    assert!(matches!(
        Wallet::create(&wpath(&d), &p, P),
        Err(Error::AlreadyExists)
    ));
    assert_eq!(std::fs::read(wpath(&d)).unwrap(), before);
    for i in 0..5 {
        w.add_receipt(receipt(i));
        w.save().unwrap();
        assert_eq!(listing(d.path()), vec!["wallet.hcw".to_string()]);
    }
    // Fresh nonce per save: the same contents never give the same file.
    let a = std::fs::read(wpath(&d)).unwrap();
    w.save().unwrap();
    let b = std::fs::read(wpath(&d)).unwrap();
    assert_eq!(a[..HEADER_LEN], b[..HEADER_LEN]);
    assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..]);
    // Exactly one slot changed: its salt is the same, its nonce and ciphertext are new.
    let slot_size = SLOT_OVERHEAD + DEFAULT_SLOT_LEN;
    let changed: Vec<usize> = (0..SLOTS)
        .filter(|s| {
            let r = HEADER_LEN + s * slot_size..HEADER_LEN + (s + 1) * slot_size;
            a[r.clone()] != b[r]
        })
        .collect();
    assert_eq!(changed.len(), 1);
    let s0 = HEADER_LEN + changed[0] * slot_size;
    assert_eq!(a[s0..s0 + 16], b[s0..s0 + 16]);
    assert_ne!(a[s0 + 16..s0 + 40], b[s0 + 16..s0 + 40]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(wpath(&d)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "wallet readable by others: {mode:o}");
    }
}

#[test]
fn failed_save_leaves_old_file_and_no_temp() {
    let d = dir();
    let p = pass("pw");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("w");
    let w = Wallet::create(&path, &p, P).unwrap();
    // A directory where the wallet file should be: rename fails.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("x"), b"x").unwrap();
    assert!(w.save().is_err());
    assert_eq!(listing(&sub), vec!["w".to_string()]);
    // Folder gone: save fails cleanly.
    std::fs::remove_dir_all(&sub).unwrap();
    assert!(matches!(w.save(), Err(Error::Io(_))));
}

#[test]
fn change_passphrase_keeps_credentials() {
    let d = dir();
    let old = pass("old");
    let mut w = populated(&wpath(&d), &old);
    assert!(matches!(
        w.change_passphrase(&pass("new"), P),
        Err(Error::IssuancePending)
    ));
    let id = w.pending_issuances()[0].request_id;
    drop(w.take_pending(&id));
    let old_salt = w.salt();
    // Every slot of a file uses the file's Argon2id cost: a change is refused, nothing written.
    let before = std::fs::read(wpath(&d)).unwrap();
    let stronger = Params { t_cost: 2, ..P };
    assert!(matches!(
        w.change_passphrase(&pass("new"), stronger),
        Err(Error::ParamsFixed)
    ));
    assert_eq!(std::fs::read(wpath(&d)).unwrap(), before);
    w.change_passphrase(&pass("new"), P).unwrap();
    assert_ne!(w.salt(), old_salt);
    assert!(matches!(
        Wallet::open(&wpath(&d), &old),
        Err(Error::WrongPassphraseOrCorrupt)
    ));
    let r = Wallet::open(&wpath(&d), &pass("new")).unwrap();
    assert_eq!(r.params(), P);
    assert_eq!(r.credentials().len(), 1);
    assert_eq!(r.receipts().len(), 3);
}

#[test]
fn not_a_wallet_and_bad_params() {
    let d = dir();
    let f = d.path().join("f");
    std::fs::write(&f, b"hello world, not a wallet at all").unwrap();
    assert!(matches!(
        Wallet::open(&f, &pass("x")),
        Err(Error::NotAWallet)
    ));
    let p = pass("pw");
    Wallet::create(&wpath(&d), &p, P).unwrap();
    let mut b = std::fs::read(wpath(&d)).unwrap();
    b[8] = 3;
    std::fs::write(&f, &b).unwrap();
    assert!(matches!(
        Wallet::open(&f, &p),
        Err(Error::UnsupportedVersion(3))
    ));
    // A header asking for 4 TiB of memory is refused before Argon2 runs.
    let mut b = std::fs::read(wpath(&d)).unwrap();
    b[9..13].copy_from_slice(&u32::MAX.to_be_bytes());
    std::fs::write(&f, &b).unwrap();
    assert!(matches!(
        Wallet::open(&f, &p),
        Err(Error::WrongPassphraseOrCorrupt)
    ));
    for bad in [
        Params { m_cost_kib: 4, ..P },
        Params { t_cost: 0, ..P },
        Params { p_cost: 0, ..P },
        Params { t_cost: 1000, ..P },
    ] {
        assert!(matches!(
            Wallet::create(&d.path().join("n"), &p, bad),
            Err(Error::InvalidParams)
        ));
    }
    assert!(P.is_below_recommended());
    assert!(!Params::recommended().is_below_recommended());
}

#[test]
fn debug_output_is_redacted() {
    let d = dir();
    let p = pass("hunter2");
    let w = populated(&wpath(&d), &p);
    let text = format!(
        "{w:?} {p:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        w.identity(),
        w.nym_secret(),
        w.credentials(),
        w.pending_issuances(),
        w.receipts(),
        w.pending_entries()
    );
    assert!(!text.contains("hunter2"));
    assert!(!text.contains("a1a1") && !text.contains("161") && !text.contains("PENDING"));
    assert!(!text.contains("c0c0") && !text.contains("192") && !text.contains("PROOF"));
    assert!(!text.contains("Declaration") && !text.contains("1000000"));
    assert!(text.contains("redacted"));
}

#[test]
fn recommended_params_round_trip() {
    let d = dir();
    let p = pass("a long passphrase of several words");
    let mut w = Wallet::create(&wpath(&d), &p, Params::recommended()).unwrap();
    w.add_receipt(receipt(1));
    w.save().unwrap();
    let r = Wallet::open(&wpath(&d), &p).unwrap();
    assert_eq!(r.params(), Params::recommended());
    assert_eq!(r.receipts(), w.receipts());
}

#[test]
fn add_receipt_is_idempotent_per_entry() {
    let d = dir();
    let mut w = Wallet::create(&wpath(&d), &pass("pw"), P).unwrap();
    w.add_receipt(receipt(1));
    let mut again = receipt(1);
    again.tlog_proof.push_str("newer checkpoint\n");
    w.add_receipt(again.clone());
    assert_eq!(w.receipts(), std::slice::from_ref(&again));
    assert_eq!(w.remove_receipt(&again.entry_hash), Some(again));
    assert!(w.receipts().is_empty());
}

/// A registrar that signs a credential for a month other than the current one (to put this
/// person in a small set of their own, or into a month already logged) is refused, and the
/// request stays pending.
#[test]
fn finish_issuance_refuses_another_month() {
    let d = dir();
    let mut w = Wallet::create(&wpath(&d), &pass("pw"), P).unwrap();
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let pk = sk.public_key();
    let now = mid_month();
    let month = Period::containing(now);
    let last = Period(month.0 - 1);
    let req = w.start_issuance([3; 32], None).unwrap();
    let id = PendingIssuance::request_id_of(&req);
    // What a malicious registrar would do: sign the request for a month it chooses.
    let signed_for = |p: Period| {
        let attrs = Attributes {
            registrar_id: [3; 32],
            period: p.0,
        };
        (issue(&sk, &req, &attrs, &mut OsRng).unwrap(), attrs)
    };
    for wrong in [last, month.next(), Period(month.0 - 12), Period(0)] {
        let (sig, attrs) = signed_for(wrong);
        match w.finish_issuance(&id, &pk, &sig, &attrs, now) {
            Err(Error::WrongPeriod {
                credential,
                current,
            }) => assert_eq!((credential, current), (wrong, month)),
            other => panic!("{wrong}: {other:?}"),
        }
        assert_eq!(w.pending_issuances().len(), 1);
        assert!(w.credentials().is_empty());
    }
    // Kept across a save, and finished with the right month.
    w.save().unwrap();
    let mut w = Wallet::open(&wpath(&d), &pass("pw")).unwrap();
    let (sig, attrs) = signed_for(last);
    // Just past the month's edge, a registrar whose clock is a little behind still counts as
    // "last month"; well past it, it does not.
    assert!(matches!(
        w.finish_issuance(&id, &pk, &sig, &attrs, month.start() + 20 * 60),
        Err(Error::WrongPeriod { .. })
    ));
    assert_eq!(w.pending_issuances().len(), 1);
    let c = w
        .finish_issuance(&id, &pk, &sig, &attrs, month.start() + 5 * 60)
        .unwrap();
    assert_eq!(c.period(), last);
    assert!(w.pending_issuances().is_empty());
}

/// Every credential has its own, random prover secret: two credentials of one wallet give
/// different pseudonyms in the same campaign, and neither uses the identity's nym secret.
#[test]
fn each_credential_has_its_own_prover_secret() {
    let d = dir();
    let mut w = Wallet::create(&wpath(&d), &pass("pw"), P).unwrap();
    let sk = RegistrarSecretKey::generate(&mut OsRng);
    let pk = sk.public_key();
    let now = mid_month();
    let attrs = Attributes {
        registrar_id: [4; 32],
        period: Period::containing(now).0,
    };
    let reqs = [
        w.start_issuance(attrs.registrar_id, None).unwrap(),
        w.start_issuance(attrs.registrar_id, None).unwrap(),
    ];
    let pending = w.pending_issuances();
    assert_eq!(pending.len(), 2);
    assert_ne!(
        pending[0].prover_key_material,
        pending[1].prover_key_material
    );
    assert_ne!(pending[0].request_id, pending[1].request_id);
    for p in pending {
        let nym = NymSecret::from_key_material(&p.prover_key_material).unwrap();
        assert!(!bool::from(nym.ct_eq(w.nym_secret())));
    }
    w.save().unwrap();
    let mut w = Wallet::open(&wpath(&d), &pass("pw")).unwrap();
    for req in &reqs {
        let sig = issue(&sk, req, &attrs, &mut OsRng).unwrap();
        w.finish_issuance(&PendingIssuance::request_id_of(req), &pk, &sig, &attrs, now)
            .unwrap();
    }
    let scope = [0x5C; 32];
    let nyms: Vec<_> = w
        .credentials()
        .iter()
        .map(|c| {
            let (a, _) = c
                .credential()
                .prove(&pk, &scope, &[1; 32], &mut OsRng)
                .unwrap();
            let (b, _) = c
                .credential()
                .prove(&pk, &scope, &[2; 32], &mut OsRng)
                .unwrap();
            assert_eq!(a, b, "one credential, one scope: one pseudonym");
            a
        })
        .collect();
    assert_eq!(nyms.len(), 2);
    assert_ne!(nyms[0], nyms[1]);
}

#[test]
fn pending_entries_survive_save_and_are_removed_by_hash() {
    let d = dir();
    let p = pass("pw");
    let mut w = Wallet::create(&wpath(&d), &p, P).unwrap();
    assert!(w.pending_entries().is_empty());
    for i in 0..3 {
        w.add_pending_entry(pending_entry(i));
    }
    // The same entry again (a retry) is recorded once.
    w.add_pending_entry(pending_entry(1));
    assert_eq!(w.pending_entries().len(), 3);
    w.save().unwrap();

    let mut w = Wallet::open(&wpath(&d), &p).unwrap();
    let expected: Vec<PendingEntry> = (0..3).map(pending_entry).collect();
    assert_eq!(w.pending_entries(), expected);
    // Its hash is the log's entry hash.
    let e = pending_entry(1);
    assert_eq!(e.entry_hash(), EntryHash::of(&e.entry).0);
    assert_eq!(w.remove_pending_entry(&e.entry_hash()), Some(e.clone()));
    assert_eq!(w.remove_pending_entry(&e.entry_hash()), None);
    assert_eq!(w.remove_pending_entry(&[0; 32]), None);
    w.save().unwrap();

    let w = Wallet::open(&wpath(&d), &p).unwrap();
    assert_eq!(w.pending_entries(), [pending_entry(0), pending_entry(2)]);
}

#[test]
fn latest_entry_is_the_highest_leaf_index_of_the_campaign() {
    let d = dir();
    let mut w = Wallet::create(&wpath(&d), &pass("pw"), P).unwrap();
    let campaign = receipt(0).campaign_id;
    assert_eq!(w.latest_entry(&campaign), None);
    let mut later = receipt(0);
    later.entry_hash = [0x11; 32];
    later.leaf_index += 10;
    w.add_receipt(later);
    w.add_receipt(receipt(0));
    w.add_receipt(receipt(1));
    assert_eq!(w.latest_entry(&campaign), Some([0x11; 32]));
    assert_eq!(
        w.latest_entry(&receipt(1).campaign_id),
        Some(receipt(1).entry_hash)
    );
    assert_eq!(w.latest_entry(&[0; 32]), None);
}

/// A damaged or tampered header that asks Argon2id for more than this version's maximum
/// (inside the old 4 GiB × 64-pass bound, which would stall unlocking for minutes) is
/// refused before Argon2id runs, and the file is left as it was.
#[test]
fn tampered_argon2_parameters_above_the_maximum_are_refused_on_open() {
    let d = dir();
    let p = pass("pw");
    Wallet::create(&wpath(&d), &p, P).unwrap();
    let original = std::fs::read(wpath(&d)).unwrap();
    for (m_kib, t) in [
        (2 * 1024 * 1024u32, 1u32), // 2 GiB
        (64 * 1024, 64),            // 64 passes
        (1024 * 1024, 8),           // 1 GiB × 8 passes: 8 GiB-passes
    ] {
        let mut b = original.clone();
        b[9..13].copy_from_slice(&m_kib.to_be_bytes());
        b[13..17].copy_from_slice(&t.to_be_bytes());
        let f = d.path().join("tampered");
        std::fs::write(&f, &b).unwrap();
        assert!(matches!(
            Wallet::open(&f, &p),
            Err(Error::WrongPassphraseOrCorrupt)
        ));
        assert_eq!(std::fs::read(&f).unwrap(), b);
        assert!(
            Params {
                m_cost_kib: m_kib,
                t_cost: t,
                p_cost: 1
            }
            .validate()
            .is_err()
        );
    }
    // The recommended setting and the largest accepted ones are inside the bounds.
    Params::recommended().validate().unwrap();
    Params {
        m_cost_kib: headcount_wallet::MAX_M_COST_KIB,
        t_cost: 4,
        p_cost: 4,
    }
    .validate()
    .unwrap();
    assert_eq!(Wallet::open(&wpath(&d), &p).unwrap().path(), wpath(&d));
}

/// New passphrases are scored by zxcvbn: common words, keyboard walks, short strings and
/// the wallet's own name are refused with the estimator's reason; random words pass.
#[test]
fn weak_new_passphrases_are_refused_with_a_reason() {
    for weak in [
        "pw",
        "password1",
        "qwertyuiop",
        "iloveyou123",
        "headcount2024",
        "my-wallet",
    ] {
        match pass(weak).check_strength(&["my-wallet", "headcount"]) {
            Err(Error::WeakPassphrase(reason)) => {
                let msg = Error::WeakPassphrase(reason).to_string();
                assert!(msg.contains("too easy to guess"), "{msg}");
            }
            other => panic!("{weak:?} was not refused: {other:?}"),
        }
    }
    for strong in [
        "correct horse battery staple",
        "lantern quarry velvet ostrich mango",
        "自由 平等 博爱 正义 和平 希望",
    ] {
        pass(strong).check_strength(&["my-wallet"]).unwrap();
    }
}

#[test]
fn documents_are_kept_encrypted_deduplicated_and_removable() {
    let d = dir();
    let p = pass("pw");
    let mut w = Wallet::create(&wpath(&d), &p, P).unwrap();
    let a = b"CAMPAIGN-PACKET-A {\"campaign\": \"secret campaign id\"}".to_vec();
    let b = b"CAMPAIGN-PACKET-B".to_vec();
    assert!(w.add_document(&a));
    assert!(!w.add_document(&a), "the same document twice");
    assert!(w.add_document(&b));
    w.add_pending_entry(pending_entry(1));
    w.save().unwrap();
    let raw = std::fs::read(wpath(&d)).unwrap();
    assert!(!contains(&raw, b"CAMPAIGN-PACKET") && !contains(&raw, b"secret campaign"));
    let mut w = Wallet::open(&wpath(&d), &p).unwrap();
    assert_eq!(w.documents().collect::<Vec<_>>(), [&a[..], &b[..]]);
    assert_eq!(w.pending_entries(), [pending_entry(1)]);
    assert_eq!(w.remove_documents(|x| x == &a[..]), 1);
    w.save().unwrap();
    let w = Wallet::open(&wpath(&d), &p).unwrap();
    assert_eq!(w.documents().collect::<Vec<_>>(), [&b[..]]);
    assert_eq!(w.pending_entries(), [pending_entry(1)]);
    // A wallet without documents (as every file written before they existed) opens with none:
    // the section's zero count is indistinguishable from the padding.
    let w = populated(&wpath(&dir()), &p);
    assert_eq!(w.documents().count(), 0);
}
