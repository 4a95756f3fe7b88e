//! The decoy passphrase (issue 11, part 3): a wallet file holds fixed-size encrypted slots;
//! files with one identity and with two cannot be told apart; each passphrase opens only its
//! own identity; using one identity leaves the other slot exactly as it was.

use headcount_wallet::slots::{DEFAULT_SLOT_LEN, HEADER_LEN, SLOT_OVERHEAD, SLOTS};
use headcount_wallet::{Error, Params, Passphrase, Receipt, ReceiptKind, Wallet};
use std::path::{Path, PathBuf};

const P: Params = Params::insecure_for_tests();
const SLOT_SIZE: usize = SLOT_OVERHEAD + DEFAULT_SLOT_LEN;

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s).unwrap()
}

fn receipt(tag: u8) -> Receipt {
    Receipt {
        campaign_id: [tag; 32],
        entry_hash: [tag ^ 0x55; 32],
        leaf_index: u64::from(tag) * 1000,
        kind: ReceiptKind::Declaration,
        tlog_proof: format!("c2sp.org/tlog-proof@v1\nindex {tag}\n"),
        entry: vec![tag; 300],
    }
}

fn slot(file: &[u8], i: usize) -> &[u8] {
    &file[HEADER_LEN + i * SLOT_SIZE..HEADER_LEN + (i + 1) * SLOT_SIZE]
}

/// Which slots differ between two versions of a file.
fn changed_slots(a: &[u8], b: &[u8]) -> Vec<usize> {
    (0..SLOTS).filter(|&i| slot(a, i) != slot(b, i)).collect()
}

/// Pearson's chi-square statistic of the byte histogram against the uniform distribution
/// (255 degrees of freedom: mean 255, standard deviation about 22.6).
fn chi_square(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let expected = bytes.len() as f64 / 256.0;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// The longest run of one repeated byte.
fn longest_run(bytes: &[u8]) -> usize {
    let (mut best, mut cur) = (0, 0);
    for w in bytes.windows(2) {
        cur = if w[0] == w[1] { cur + 1 } else { 0 };
        best = best.max(cur + 1);
    }
    best
}

/// Everything a program can check without a passphrase: length, the clear header, and, per
/// slot and per field (salt, nonce, ciphertext, tag), that the bytes look uniformly random.
fn structure(file: &[u8]) -> (usize, Vec<u8>) {
    for i in 0..SLOTS {
        let s = slot(file, i);
        // 1 MiB of uniform bytes: chi-square 255 ± 22.6; 400 is more than six deviations.
        let chi = chi_square(s);
        assert!(chi < 400.0, "slot {i} is not uniform: chi-square {chi}");
        // A run of 6 equal bytes in 1 MiB of random bytes has probability about 2^-20.
        assert!(
            longest_run(s) < 7,
            "slot {i} has a run of {}",
            longest_run(s)
        );
        // No slot field is all zero or repeats another slot's.
        for (a, b) in [(0, 16), (16, 40), (SLOT_SIZE - 16, SLOT_SIZE)] {
            assert!(s[a..b].iter().any(|&x| x != 0));
            for j in 0..SLOTS {
                if j != i {
                    assert_ne!(s[a..b], slot(file, j)[a..b]);
                }
            }
        }
    }
    (file.len(), file[..HEADER_LEN].to_vec())
}

struct Files {
    _dir: tempfile::TempDir,
    single: PathBuf,
    double: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single.hcw");
    let double = dir.path().join("double.hcw");
    let mut w = Wallet::create(&single, &pass("one only"), P).unwrap();
    w.add_receipt(receipt(1));
    w.save().unwrap();
    let (mut main, mut decoy) =
        Wallet::create_with_decoy(&double, &pass("real one"), &pass("innocent"), P).unwrap();
    main.add_receipt(receipt(2));
    main.save().unwrap();
    decoy.add_receipt(receipt(3));
    decoy.save().unwrap();
    Files {
        _dir: dir,
        single,
        double,
    }
}

#[test]
fn one_and_two_identities_look_the_same() {
    let f = files();
    let a = std::fs::read(&f.single).unwrap();
    let b = std::fs::read(&f.double).unwrap();
    assert_eq!(a.len(), HEADER_LEN + SLOTS * SLOT_SIZE);
    // Same length, same clear header, every slot field uniformly random in both.
    assert_eq!(structure(&a), structure(&b));
    // Empty files too (nothing saved after creation).
    let d = tempfile::tempdir().unwrap();
    let e1 = d.path().join("e1");
    let e2 = d.path().join("e2");
    Wallet::create(&e1, &pass("x1"), P).unwrap();
    Wallet::create_with_decoy(&e2, &pass("x1"), &pass("x2"), P).unwrap();
    assert_eq!(
        structure(&std::fs::read(e1).unwrap()),
        structure(&std::fs::read(e2).unwrap())
    );
}

#[test]
fn each_passphrase_opens_only_its_own_identity() {
    let f = files();
    let main = Wallet::open(&f.double, &pass("real one")).unwrap();
    let decoy = Wallet::open(&f.double, &pass("innocent")).unwrap();
    assert_eq!(main.receipts().len(), 1);
    assert_eq!(main.receipts()[0].campaign_id, [2; 32]);
    assert_eq!(decoy.receipts().len(), 1);
    assert_eq!(decoy.receipts()[0].campaign_id, [3; 32]);
    assert_ne!(main.salt(), decoy.salt());
    assert!(!bool::from(subtle::ConstantTimeEq::ct_eq(
        main.nym_secret(),
        decoy.nym_secret()
    )));
    for wrong in ["real on", "innocent ", "one only", "Innocent"] {
        assert!(matches!(
            Wallet::open(&f.double, &pass(wrong)),
            Err(Error::WrongPassphraseOrCorrupt)
        ));
    }
    // Repeated opens find the same identity (the slots are not reshuffled by opening).
    for _ in 0..3 {
        let again = Wallet::open(&f.double, &pass("innocent")).unwrap();
        assert_eq!(again.salt(), decoy.salt());
    }
}

/// Saving one identity rewrites the file with the other slot byte for byte as it was, exactly
/// as a single-identity wallet's save leaves its random slot: the change pattern (one slot
/// changes, header and size stay) is the same with or without a hidden identity.
#[test]
fn using_one_identity_leaves_the_other_slot_untouched() {
    let f = files();
    for (path, p) in [
        (&f.double, "innocent"),
        (&f.double, "real one"),
        (&f.single, "one only"),
    ] {
        let before = std::fs::read(path).unwrap();
        let mut w = Wallet::open(path, &pass(p)).unwrap();
        w.add_receipt(receipt(9));
        w.save().unwrap();
        let after = std::fs::read(path).unwrap();
        assert_eq!(before.len(), after.len());
        assert_eq!(before[..HEADER_LEN], after[..HEADER_LEN]);
        assert_eq!(changed_slots(&before, &after).len(), 1, "{p}");
        // And the change stays in the identity that made it.
        assert_eq!(
            Wallet::open(path, &pass(p)).unwrap().receipts().len(),
            2,
            "{p}"
        );
    }
    // The other identity is intact and unaware.
    let main = Wallet::open(&f.double, &pass("real one")).unwrap();
    let decoy = Wallet::open(&f.double, &pass("innocent")).unwrap();
    assert_eq!(main.receipts().len(), 2);
    assert_eq!(decoy.receipts().len(), 2);
    assert!(main.receipts().iter().all(|r| r.campaign_id != [3; 32]));
    assert!(decoy.receipts().iter().all(|r| r.campaign_id != [2; 32]));
    // Only the wallet file is in the folder: no temporary or side files left.
    let names: Vec<_> = std::fs::read_dir(f.double.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2);
}

#[test]
fn both_identities_can_save_in_turn_without_losing_each_other() {
    let f = files();
    let mut main = Wallet::open(&f.double, &pass("real one")).unwrap();
    let mut decoy = Wallet::open(&f.double, &pass("innocent")).unwrap();
    // Interleaved: each save re-reads the file and keeps the other's latest slot.
    for i in 10..14 {
        main.add_receipt(receipt(i));
        main.save().unwrap();
        decoy.add_receipt(receipt(i + 100));
        decoy.save().unwrap();
    }
    assert_eq!(
        Wallet::open(&f.double, &pass("real one"))
            .unwrap()
            .receipts()
            .len(),
        5
    );
    assert_eq!(
        Wallet::open(&f.double, &pass("innocent"))
            .unwrap()
            .receipts()
            .len(),
        5
    );
}

fn unchanged_after<T: std::fmt::Debug>(path: &Path, f: impl FnOnce() -> T) -> T {
    let before = std::fs::read(path).unwrap();
    let r = f();
    assert_eq!(std::fs::read(path).unwrap(), before, "the file changed");
    r
}

#[test]
fn a_passphrase_never_opens_two_slots() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("w");
    assert!(matches!(
        Wallet::create_with_decoy(&path, &pass("same"), &pass("same"), P),
        Err(Error::PassphraseInUse)
    ));
    assert!(!path.exists());
    let (mut main, _decoy) =
        Wallet::create_with_decoy(&path, &pass("real one"), &pass("innocent"), P).unwrap();
    let e = unchanged_after(&path, || {
        main.change_passphrase(&pass("innocent"), P).unwrap_err()
    });
    assert!(matches!(e, Error::PassphraseInUse), "{e:?}");
    // Still the old passphrase.
    Wallet::open(&path, &pass("real one")).unwrap();
    // A fresh passphrase is fine, and the decoy survives the change.
    main.change_passphrase(&pass("new real one"), P).unwrap();
    Wallet::open(&path, &pass("new real one")).unwrap();
    Wallet::open(&path, &pass("innocent")).unwrap();
    assert!(matches!(
        Wallet::open(&path, &pass("real one")),
        Err(Error::WrongPassphraseOrCorrupt)
    ));
}

#[test]
fn a_full_slot_and_a_replaced_file_are_refused_without_writing() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("w");
    let (mut main, mut decoy) =
        Wallet::create_with_decoy(&path, &pass("real one"), &pass("innocent"), P).unwrap();
    assert!(main.add_document(&vec![7u8; DEFAULT_SLOT_LEN]));
    let e = unchanged_after(&path, || main.save().unwrap_err());
    assert!(matches!(e, Error::WalletFull), "{e:?}");
    main.remove_documents(|_| true);
    main.save().unwrap();
    // Another wallet file put in its place: not ours to overwrite.
    let other = d.path().join("other");
    Wallet::create(&other, &pass("someone else"), P).unwrap();
    std::fs::copy(&other, &path).unwrap();
    decoy.add_receipt(receipt(5));
    let e = unchanged_after(&path, || decoy.save().unwrap_err());
    assert!(matches!(e, Error::FileChanged), "{e:?}");
    Wallet::open(&path, &pass("someone else")).unwrap();
}
