//! tlog-policy parsing and quorum checks.

use headcount_cosignature::{CosignatureSigner, Error, LogVerifier, Policy};
use signed_note::{Note, StandardSigner};

const BODY: &[u8] = b"example.com/log\n10\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

struct Keys {
    log: StandardSigner,
    log_vkey: String,
    w: Vec<CosignatureSigner>,
}

fn keys(n: usize) -> Keys {
    let (skey, log_vkey) = signed_note::generate_key(&mut rand_core::OsRng, "example.com/log");
    let log = StandardSigner::new(&skey).expect("skey");
    let w = (0..n)
        .map(|i| {
            CosignatureSigner::generate(&format!("w{i}.example"))
                .expect("gen")
                .0
        })
        .collect();
    Keys { log, log_vkey, w }
}

/// The spec's two-level example: 2 of X1..X3 and any of Y1..Y3.
fn example_policy(k: &Keys) -> Policy {
    let text = format!(
        "# example from tlog-policy.md\nlog {}\n\n\
         witness X1 {}\nwitness X2 {}\n\twitness X3 {} https://x3.example/\n\
         group X-witnesses 2 X1 X2 X3\n\n\
         witness Y1 {}\nwitness Y2 {}\nwitness Y3 {}\n\
         group Y-witnesses any Y1 Y2 Y3\n\n\
         group X-and-Y all X-witnesses Y-witnesses\n  quorum   X-and-Y  \n",
        k.log_vkey,
        k.w[0].vkey(),
        k.w[1].vkey(),
        k.w[2].vkey(),
        k.w[3].vkey(),
        k.w[4].vkey(),
        k.w[5].vkey()
    );
    Policy::parse(&text).expect("valid policy")
}

fn note(k: &Keys, log: bool, witnesses: &[usize]) -> Vec<u8> {
    let mut n = Note::new(BODY, &[]).expect("note");
    if log {
        n.add_sigs(&[&k.log]).expect("log sig");
    }
    for &i in witnesses {
        n.add_sigs(&[&k.w[i]]).expect("cosig");
    }
    if !log && witnesses.is_empty() {
        // A note needs a signature line; add one from an unknown key.
        let (skey, _) = signed_note::generate_key(&mut rand_core::OsRng, "stranger");
        n.add_sigs(&[&StandardSigner::new(&skey).expect("skey")])
            .expect("sig");
    }
    n.to_bytes()
}

#[test]
fn example_policy_quorum() {
    let k = keys(6);
    let p = example_policy(&k);
    assert_eq!(p.witnesses().len(), 6);
    assert_eq!(p.witnesses()[2].url.as_deref(), Some("https://x3.example/"));
    assert_eq!(p.logs().count(), 1);
    // 2 of X and 1 of Y: met.
    let cp = p.check(&note(&k, true, &[0, 2, 5])).expect("quorum met");
    assert_eq!(cp.size(), 10);
    assert!(p.check(&note(&k, true, &[0, 1, 2, 3, 4, 5])).is_ok());
    // Only 1 of X: not met.
    assert_eq!(
        p.check(&note(&k, true, &[0, 3, 4])),
        Err(Error::QuorumNotMet)
    );
    // No Y: not met.
    assert_eq!(
        p.check(&note(&k, true, &[0, 1, 2])),
        Err(Error::QuorumNotMet)
    );
    // No log signature.
    assert_eq!(
        p.check(&note(&k, false, &[0, 1, 3])),
        Err(Error::NoLogSignature)
    );
    assert_eq!(p.check(&note(&k, false, &[])), Err(Error::NoLogSignature));
}

#[test]
fn bad_cosignature_rejects_note() {
    let k = keys(6);
    let p = example_policy(&k);
    let good = note(&k, true, &[0, 1, 3]);
    let text = String::from_utf8(good).expect("utf8");
    // Flip a character in the last signature line (Y1's cosignature).
    let last = text
        .trim_end()
        .rsplit('\n')
        .next()
        .expect("line")
        .to_owned();
    let b64 = last.rsplit(' ').next().expect("b64");
    let mut chars: Vec<char> = b64.chars().collect();
    chars[30] = if chars[30] == 'A' { 'B' } else { 'A' };
    let bad_line = last.replace(b64, &chars.iter().collect::<String>());
    let bad = text.replace(&last, &bad_line);
    assert!(matches!(
        p.check(bad.as_bytes()),
        Err(Error::InvalidSignature { .. })
    ));
    // Tampered body.
    let tampered = text.replace("\n10\n", "\n11\n");
    assert!(matches!(
        p.check(tampered.as_bytes()),
        Err(Error::InvalidSignature { .. })
    ));
}

#[test]
fn k_of_n_thresholds() {
    let k = keys(4);
    let ws: String = (0..4)
        .map(|i| format!("witness W{i} {}\n", k.w[i].vkey()))
        .collect();
    for (threshold, need) in [("1", 1), ("any", 1), ("3", 3), ("all", 4)] {
        let p = Policy::parse(&format!(
            "log {}\n{ws}group g {threshold} W0 W1 W2 W3\nquorum g\n",
            k.log_vkey
        ))
        .expect("policy");
        for have in 0..=4 {
            let signed: Vec<usize> = (0..have).collect();
            let r = p.check(&note(&k, true, &signed));
            assert_eq!(r.is_ok(), have >= need, "{threshold}: {have}");
            if have < need {
                assert_eq!(r, Err(Error::QuorumNotMet));
            }
        }
    }
}

#[test]
fn single_witness_and_none_quorum() {
    let k = keys(2);
    let p = Policy::parse(&format!(
        "log {}\nwitness A {}\nwitness B {}\nquorum B\n",
        k.log_vkey,
        k.w[0].vkey(),
        k.w[1].vkey()
    ))
    .expect("policy");
    assert!(p.check(&note(&k, true, &[1])).is_ok());
    assert_eq!(p.check(&note(&k, true, &[0])), Err(Error::QuorumNotMet));
    let none = Policy::parse(&format!("log {}\nquorum none\n", k.log_vkey)).expect("policy");
    assert!(none.check(&note(&k, true, &[])).is_ok());
    assert!(none.check(&note(&k, true, &[0, 1])).is_ok());
}

#[test]
fn log_key_name_must_be_origin() {
    let (skey, vkey) = signed_note::generate_key(&mut rand_core::OsRng, "other.example/log");
    let signer = StandardSigner::new(&skey).expect("skey");
    let p = Policy::parse(&format!("log {vkey}\nquorum none\n")).expect("policy");
    let mut n = Note::new(BODY, &[]).expect("note");
    n.add_sigs(&[&signer]).expect("sig");
    assert_eq!(p.check(&n.to_bytes()), Err(Error::NoLogSignature));
}

#[test]
fn check_with_external_log_verifier() {
    let k = keys(1);
    let p = Policy::parse(&format!("witness A {}\nquorum A\n", k.w[0].vkey())).expect("policy");
    let log = LogVerifier::from_vkey(&k.log_vkey).expect("vkey");
    assert!(p.check_with_log(&note(&k, true, &[0]), &log).is_ok());
    assert_eq!(
        p.check_with_log(&note(&k, true, &[]), &log),
        Err(Error::QuorumNotMet)
    );
    assert_eq!(
        p.check_with_log(&note(&k, false, &[0]), &log),
        Err(Error::NoLogSignature)
    );
    // With no log lines, plain check can never succeed.
    assert_eq!(p.check(&note(&k, true, &[0])), Err(Error::NoLogSignature));
}

#[test]
fn parse_errors() {
    let k = keys(3);
    let (a, b) = (k.w[0].vkey(), k.w[1].vkey());
    let bad = [
        String::new(),                                       // no quorum
        "quorum A\n".into(),                                 // undefined
        format!("witness A {a}\nquorum A\nquorum A\n"),      // two quorums
        format!("witness A {a}\nwitness A {b}\nquorum A\n"), // duplicate name
        format!("witness A {a}\nwitness B {a}\nquorum A\n"), // duplicate key
        format!("witness none {a}\nquorum none\n"),          // reserved name
        format!("witness A {a}\ngroup g 2 A\nquorum g\n"),   // k > n
        format!("witness A {a}\ngroup g 0 A\nquorum g\n"),   // k < 1
        format!("witness A {a}\ngroup g -1 A\nquorum g\n"),
        format!("witness A {a}\ngroup g any\nquorum g\n"), // no members
        format!("witness A {a}\ngroup g any A A\nquorum g\n"), // member twice
        format!("witness A {a}\ngroup g any A\ngroup h any A\nquorum h\n"), // member of two groups
        format!("witness A {a}\ngroup g any none\nquorum g\n"),
        format!("group g any A\nwitness A {a}\nquorum g\n"), // forward reference
        format!("witness A {a}\nquorum A B\n"),
        format!("witness A {}\nquorum A\n", k.log_vkey), // 0x01 key as witness
        format!("log {}\nlog {}\nquorum none\n", k.log_vkey, k.log_vkey),
        format!("log {}\nquorum none\r\n", k.log_vkey), // CR not allowed
        "frobnicate x\nquorum none\n".into(),
        "witness A notakey\nquorum A\n".into(),
    ];
    for text in bad {
        assert!(
            matches!(Policy::parse(&text), Err(Error::Policy { .. })),
            "accepted: {text:?}"
        );
    }
    // Comments, blank lines, tabs and no final newline are fine.
    assert!(Policy::parse(&format!("\t# hi\n\n witness\tA\t{a} \nquorum A")).is_ok());
}
