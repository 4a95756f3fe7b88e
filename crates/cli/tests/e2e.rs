//! Every CLI role end to end, as separate processes of the real `headcount`
//! binary talking to a `headcount serve` child process over loopback HTTP.

mod common;

use std::path::Path;

use common::{Server, headcount, headcount_ok, mode, probe};
use serde_json::Value;

/// Every hex or base64 secret inside a key file, and the file itself.
fn secrets_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = vec![text.trim().to_owned()];
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        for (k, s) in v.as_object().unwrap() {
            if k != "kind"
                && let Some(s) = s.as_str()
                && !s.is_empty()
            {
                out.push(s.to_owned());
            }
        }
    } else {
        // Signed-note secret key: PRIVATE+KEY+<name>+<id>+<base64>.
        let b64 = text.trim().splitn(5, '+').nth(4).unwrap().to_owned();
        assert!(b64.len() > 20, "unexpected skey shape");
        out.push(b64);
    }
    out
}

fn assert_no_secret(secrets: &[String], outputs: &[&str], what: &str) {
    for s in secrets {
        for o in outputs {
            assert!(!o.contains(s.as_str()), "{what} printed a secret");
        }
    }
    for o in outputs {
        assert!(!o.contains("PRIVATE+KEY"), "{what} printed a private key");
    }
}

/// The value after `label` on its line of `stdout`.
fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
        .trim()
        .to_owned()
}

fn get_json(url: &str, path: &str) -> Value {
    let (status, body) = probe(url, path).unwrap_or_else(|| panic!("GET {path} failed"));
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn every_role_end_to_end_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = Server::start(dir.path(), 50);
    let url = srv.url.clone();
    let keys = dir.path().join("keys");
    let k = |name: &str| keys.join(name).to_str().unwrap().to_owned();

    // The server generated its log key on first start: secret and 0600.
    let server_skey = srv.data.join("log.skey");
    assert_eq!(mode(&server_skey), 0o600);
    assert_eq!(
        get_json(&url, "/v1/log")["vkey"].as_str().unwrap(),
        srv.vkey()
    );

    // keygen, every role.
    let op = keys.join("op");
    let (o, e) = headcount_ok(&[
        "keygen",
        "operator",
        "--origin",
        "headcount.local/log",
        "--out",
        op.to_str().unwrap(),
    ]);
    assert!(op.join("log.vkey").is_file());
    assert_eq!(mode(&op.join("log.skey")), 0o600);
    assert_no_secret(
        &secrets_of(&op.join("log.skey")),
        &[&o, &e],
        "keygen operator",
    );
    let wrong_vkey = std::fs::read_to_string(op.join("log.vkey")).unwrap();
    assert!(
        o.contains(wrong_vkey.trim()),
        "keygen operator prints the public key"
    );

    let (o, e) = headcount_ok(&["keygen", "organiser", "--out", &k("")]);
    assert!(keys.join("organiser.pub").is_file());
    assert_eq!(mode(&keys.join("organiser.key")), 0o600);
    assert_no_secret(
        &secrets_of(&keys.join("organiser.key")),
        &[&o, &e],
        "keygen organiser",
    );

    let (o, e) = headcount_ok(&["keygen", "registrar", "--out", &k("")]);
    assert!(keys.join("registrar.pub").is_file());
    assert_eq!(mode(&keys.join("registrar.key")), 0o600);
    let registrar_secrets = secrets_of(&keys.join("registrar.key"));
    assert_eq!(registrar_secrets.len(), 3, "ed25519 seed and BBS secret");
    assert_no_secret(&registrar_secrets, &[&o, &e], "keygen registrar");
    // Never overwrites a key.
    let again = headcount(&["keygen", "registrar", "--out", &k("")]);
    assert!(!again.status.success());
    assert_eq!(
        registrar_secrets,
        secrets_of(&keys.join("registrar.key")),
        "a refused keygen left the key alone"
    );

    // registrar register.
    let policy = dir.path().join("policy.txt");
    std::fs::write(
        &policy,
        "We call each applicant back on a number we looked up ourselves.\n",
    )
    .unwrap();
    let (o, e) = headcount_ok(&[
        "registrar",
        "register",
        "--server",
        &url,
        "--key",
        &k("registrar.key"),
        "--name",
        "Phone Bank Registrar",
        "--policy-file",
        policy.to_str().unwrap(),
        "--contact",
        "phone@example.org",
    ]);
    assert_no_secret(&registrar_secrets, &[&o, &e], "registrar register");
    let rid = field(&o, "registrar id:");
    assert_eq!(rid.len(), 64, "{o}");
    assert!(o.contains("receipt verified"), "{o}");

    // campaign create.
    let now = common::now();
    let spec = dir.path().join("campaign.toml");
    std::fs::write(
        &spec,
        format!(
            r#"opens_at = "{}"
closes_at = "{}"
unverified_difficulty = 8
registrars = ["{rid}"]
addressees = ["The city council"]

[[text]]
lang = "en"
title = "Keep the library open"
statement = "We ask the council to keep the central library open on Sundays."
"#,
            now - 3600,
            now + 86_400
        ),
    )
    .unwrap();
    let (o, e) = headcount_ok(&[
        "campaign",
        "create",
        "--server",
        &url,
        "--key",
        &k("organiser.key"),
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert_no_secret(
        &secrets_of(&keys.join("organiser.key")),
        &[&o, &e],
        "campaign create",
    );
    let cid = field(&o, "campaign id:");
    assert_eq!(cid.len(), 64, "{o}");

    // vouch: the same person twice (a corrected alias) counts once; another person counts.
    let log_key = srv.vkey();
    for (person, alias) in [
        ("case-1001", "Ana"),
        ("case-1001", "Ana R."),
        ("case-2002", "Ben"),
    ] {
        let (o, e) = headcount_ok(&[
            "vouch",
            "--server",
            &url,
            "--key",
            &k("registrar.key"),
            "--registrar",
            &rid,
            "--campaign",
            &cid,
            "--person",
            person,
            "--alias",
            alias,
            "--log-key",
            &log_key,
        ]);
        assert!(o.contains("receipt verified"), "{o}");
        assert_no_secret(&registrar_secrets, &[&o, &e], "vouch");
        assert!(!o.contains(person) && !e.contains(person));
    }
    // --receipt-out writes the receipt as a tlog-proof the dashboard's page can check.
    let receipt = dir.path().join("vouch.receipt");
    headcount_ok(&[
        "vouch",
        "--server",
        &url,
        "--key",
        &k("registrar.key"),
        "--registrar",
        &rid,
        "--campaign",
        &cid,
        "--person",
        "case-1001",
        "--alias",
        "Ana R.",
        "--log-key",
        &log_key,
        "--receipt-out",
        receipt.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&receipt).unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"), "{text}");
    assert!(
        text.contains("\nindex 3\n"),
        "the repeat names the first copy's leaf: {text}"
    );
    // The identical vouch again is idempotent: same index, nothing added.
    let vouch_again = |alias: &str| {
        headcount_ok(&[
            "vouch",
            "--server",
            &url,
            "--key",
            &k("registrar.key"),
            "--registrar",
            &rid,
            "--campaign",
            &cid,
            "--person",
            "case-2002",
            "--alias",
            alias,
        ])
        .0
    };
    let size_before = get_json(&url, "/v1/log")["tree_size"].as_u64().unwrap();
    let o = vouch_again("Ben");
    assert!(o.contains("logged at index 4"), "{o}");
    assert_eq!(
        get_json(&url, "/v1/log")["tree_size"].as_u64().unwrap(),
        size_before
    );

    // declare --unverified (8 bits of work).
    let (o, _) = headcount_ok(&[
        "declare",
        "--server",
        &url,
        "--alias",
        "A neighbour",
        "--message",
        "Sundays are when I can go.",
        "--unverified",
        &cid,
    ]);
    assert!(
        o.contains("unverified declaration logged at index 5"),
        "{o}"
    );

    // The JSON API's tally.
    let t = get_json(&url, &format!("/v1/campaigns/{cid}/tally"));
    assert_eq!(t["vouched"], 2, "{t}");
    assert_eq!(t["credible"], 2, "{t}");
    assert_eq!(t["credentialed"], 0, "{t}");
    assert_eq!(t["unverified"], 1, "{t}");
    assert_eq!(t["tree_size"], 6, "{t}");

    // No person record reached the log: only keyed hashes of them.
    let (status, bundle) = probe(&url, "/tile/entries/000.p/6").unwrap();
    assert_eq!(status, 200);
    for person in ["case-1001", "case-2002"] {
        assert!(!bundle.windows(person.len()).any(|w| w == person.as_bytes()));
    }
    assert!(bundle.windows(6).any(|w| w == b"Ana R."));

    // campaign list.
    let (o, _) = headcount_ok(&["campaign", "list", "--server", &url]);
    let line = o
        .lines()
        .find(|l| l.starts_with(&cid))
        .unwrap_or_else(|| panic!("campaign missing from the list:\n{o}"));
    assert!(line.contains("Keep the library open"), "{line}");
    assert!(line.contains("credible 2"), "{line}");
    assert!(line.contains("vouched 2"), "{line}");
    assert!(line.contains("credentialed 0"), "{line}");
    assert!(line.contains("unverified 1"), "{line}");

    // audit, pinned to the right key: agrees, with the right counts.
    let out = headcount(&["audit", &url, "--log-key", &log_key, "--quiet"]);
    let o = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{o}");
    assert!(o.contains("AGREES"), "{o}");
    assert!(o.contains("checked    6 entries"), "{o}");
    assert!(
        o.contains(&format!(
            "campaign   {cid}  credible 2 = credentialed 0 + vouched 2   unverified 1"
        )),
        "{o}"
    );
    assert!(!o.contains("trusted on first use"), "{o}");

    // An attestation the log does not accept (this auditor is not in its list): the audit
    // still agrees, but the command fails and says why.
    headcount_ok(&[
        "keygen",
        "auditor",
        "--name",
        "stranger.example",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let out = headcount(&[
        "audit",
        &url,
        "--log-key",
        &log_key,
        "--quiet",
        "--attest",
        dir.path().join("stranger.example.skey").to_str().unwrap(),
        "--attestation-out",
        dir.path().join("a.note").to_str().unwrap(),
        "--submit",
    ]);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{o}\n{e}");
    assert!(o.contains("AGREES"), "{o}");
    assert!(e.contains("the log refused the attestation"), "{e}");

    // audit against another key with the same origin: differs, exit 2.
    let out = headcount(&["audit", &url, "--log-key", wrong_vkey.trim(), "--quiet"]);
    let o = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{o}");
    assert!(o.contains("DIFFERS"), "{o}");
    assert!(!o.contains("AGREES"), "{o}");

    // The server never printed its secret key.
    srv.kill();
    let log = std::fs::read_to_string(&srv.log_file).unwrap();
    assert_no_secret(&secrets_of(&server_skey), &[&log], "headcount serve");
}

/// The subcommands a `--help` text lists, with their descriptions.
fn listed_commands(help: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if !in_commands {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with("  ") {
            break;
        }
        let mut parts = line.trim().splitn(2, ' ');
        let name = parts.next().unwrap().to_owned();
        let about = parts.next().unwrap_or("").trim().to_owned();
        if name != "help" {
            out.push((name, about));
        }
    }
    out
}

#[test]
fn help_describes_every_command() {
    // What the main roles' help must say they do.
    let expected: &[(&str, &str)] = &[
        ("", "pseudonymous public declarations"),
        ("serve", "run a log server"),
        ("keygen", "create key files"),
        ("keygen operator", "checkpoint key"),
        ("keygen organiser", "campaign-signing key"),
        ("keygen registrar", "registrar's keys"),
        ("campaign", "organiser"),
        ("campaign create", "publish a campaign"),
        ("campaign list", "list the campaigns"),
        ("registrar", "registrar"),
        ("registrar register", "publish the registrar entry"),
        ("vouch", "on behalf of a person"),
        ("declare", "make a declaration"),
        ("audit", "recompute every tally"),
        ("bench", "throughput"),
        ("demo", "tour"),
    ];
    // Walk the whole command tree from `headcount --help`: every command
    // listed has a description, and its own --help succeeds and says it.
    let mut seen = Vec::new();
    let mut todo = vec![(Vec::<String>::new(), String::new())];
    while let Some((path, about)) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (o, _) = headcount_ok(&args);
        let name = path.join(" ");
        assert!(
            o.contains(&format!("Usage: headcount {name}").trim().to_owned()),
            "`headcount {name} --help`:\n{o}"
        );
        let first = o.lines().next().unwrap_or("");
        assert!(
            !first.trim().is_empty(),
            "`headcount {name}` has no description"
        );
        if !about.is_empty() {
            let head: String = about.chars().take(24).collect();
            assert!(
                o.contains(&head),
                "`headcount {name} --help` does not repeat {about:?}:\n{o}"
            );
        }
        if let Some((_, expect)) = expected.iter().find(|(p, _)| *p == name) {
            assert!(
                o.to_lowercase().contains(expect),
                "`headcount {name} --help` does not say {expect:?}:\n{o}"
            );
        }
        for (sub, sub_about) in listed_commands(&o) {
            assert!(
                !sub_about.is_empty(),
                "`headcount {name} {sub}` has no description"
            );
            let mut p = path.clone();
            p.push(sub);
            todo.push((p, sub_about));
        }
        seen.push(name);
    }
    for (p, _) in expected {
        assert!(seen.iter().any(|s| s == p), "`headcount {p}` is not listed");
    }
    let (o, _) = headcount_ok(&["--version"]);
    assert!(o.starts_with("headcount "), "{o}");
    // Unknown subcommands are usage errors.
    assert_eq!(headcount(&["frobnicate"]).status.code(), Some(2));
}
