//! Measurements (ignored by default):
//! `cargo test -p headcount-wallet --release --test timings -- --ignored --nocapture`

use headcount_wallet::{Identity, Params, Passphrase, Receipt, ReceiptKind, Wallet};
use std::time::{Duration, Instant};

fn time(label: &str, n: u32, mut f: impl FnMut()) -> Duration {
    f(); // warm up
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    let per = t.elapsed() / n;
    println!("{label:<48} {:>10.2} ms", per.as_secs_f64() * 1e3);
    per
}

#[test]
#[ignore]
fn timings() {
    let p = Passphrase::new("correct horse battery staple").unwrap();
    let rec = Params::recommended();
    println!(
        "Argon2id m = {} KiB, t = {}, p = {}",
        rec.m_cost_kib, rec.t_cost, rec.p_cost
    );
    let per = time("Identity::derive (recommended)", 10, || {
        Identity::derive(&p, &[1; 16], &rec).unwrap();
    });
    println!(
        "  => {:.1} guesses/s per core at the recommended parameters",
        1.0 / per.as_secs_f64()
    );
    for (m, t) in [(256 * 1024, 3), (1024 * 1024, 1)] {
        let q = Params {
            m_cost_kib: m,
            t_cost: t,
            p_cost: 4,
        };
        time(
            &format!("Identity::derive (m = {} MiB, t = {t})", m / 1024),
            3,
            || {
                Identity::derive(&p, &[1; 16], &q).unwrap();
            },
        );
    }
    time("Identity::derive (insecure_for_tests)", 100, || {
        Identity::derive(&p, &[1; 16], &Params::insecure_for_tests()).unwrap();
    });

    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("w");
    let mut w = Wallet::create(&path, &p, rec).unwrap();
    for i in 0..100u32 {
        w.add_receipt(Receipt {
            campaign_id: [i as u8; 32],
            entry_hash: {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&i.to_be_bytes());
                h
            },
            leaf_index: u64::from(i),
            kind: ReceiptKind::Declaration,
            tlog_proof: "x".repeat(1500),
            entry: vec![7; 600],
        });
    }
    time("Wallet::save (100 receipts)", 20, || w.save().unwrap());
    println!(
        "  file size {} bytes",
        std::fs::metadata(&path).unwrap().len()
    );
    time("Wallet::open (recommended, 100 receipts)", 10, || {
        Wallet::open(&path, &p).unwrap();
    });
}

/// Opening a two-identity wallet at the recommended cost with the main passphrase, the decoy
/// passphrase and a wrong one: the three take the same time (two Argon2id runs and two full
/// trial decryptions each). Interleaved, medians of 9, so that load on the machine hits all three.
#[test]
#[ignore]
fn decoy_open_timings() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("w");
    let main = Passphrase::new("violet harbour engine tulip seventeen").unwrap();
    let decoy = Passphrase::new("paper kite over a quiet meadow").unwrap();
    let wrong = Passphrase::new("nothing like either of them at all").unwrap();
    Wallet::create_with_decoy(&path, &main, &decoy, Params::recommended()).unwrap();
    let cases = [
        ("Wallet::open, main passphrase", &main),
        ("Wallet::open, decoy passphrase", &decoy),
        ("Wallet::open, wrong passphrase", &wrong),
    ];
    let mut samples = vec![Vec::new(); cases.len()];
    for _ in 0..9 {
        for (i, (_, p)) in cases.iter().enumerate() {
            let t = Instant::now();
            let _ = Wallet::open(&path, p);
            samples[i].push(t.elapsed());
        }
    }
    for ((label, _), mut s) in cases.iter().zip(samples) {
        s.sort();
        println!(
            "{label:<48} {:>10.2} ms (median of 9)",
            s[4].as_secs_f64() * 1e3
        );
    }
}
