//! `headcount identity new --decoy`: one wallet file, two identities, each opened by its own
//! passphrase; misuse is refused before anything is written.

mod common;

use common::{headcount, headcount_ok};

#[test]
fn identity_new_with_a_decoy() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).to_str().unwrap().to_owned();
    std::fs::write(p("main.pass"), "violet harbour engine tulip seventeen\n").unwrap();
    std::fs::write(p("decoy.pass"), "paper kite over a quiet meadow\n").unwrap();
    std::fs::write(p("wrong.pass"), "nothing like either of them at all\n").unwrap();
    let new = |wallet: &str, extra: &[&str]| {
        let mut args = vec![
            "identity",
            "new",
            "--insecure-fast-kdf",
            "--wallet",
            wallet,
            "--passphrase-file",
        ];
        args.extend_from_slice(extra);
        headcount(&args)
    };

    // Misuse: no decoy passphrase file, or the same passphrase twice: nothing is created.
    let w = p("w.hcw");
    let o = new(&w, &[&p("main.pass"), "--decoy"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--decoy-passphrase-file"));
    let o = new(
        &w,
        &[
            &p("main.pass"),
            "--decoy",
            "--decoy-passphrase-file",
            &p("main.pass"),
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already used"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!std::path::Path::new(&w).exists());

    // With a decoy, and a plain one: the same size.
    let o = new(
        &w,
        &[
            &p("main.pass"),
            "--decoy",
            "--decoy-passphrase-file",
            &p("decoy.pass"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("two identities"));
    let single = p("single.hcw");
    assert!(new(&single, &[&p("main.pass")]).status.success());
    assert_eq!(
        std::fs::metadata(&w).unwrap().len(),
        std::fs::metadata(&single).unwrap().len()
    );
    // Each passphrase opens a wallet; a wrong one fails with the one clear error.
    for pass in ["main.pass", "decoy.pass"] {
        let (out, _) = headcount_ok(&[
            "identity",
            "show",
            "--wallet",
            &w,
            "--passphrase-file",
            &p(pass),
        ]);
        assert!(out.contains("wallet "), "{out}");
    }
    let o = headcount(&[
        "identity",
        "show",
        "--wallet",
        &w,
        "--passphrase-file",
        &p("wrong.pass"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"));
}
