//! Offline declarations carried by couriers (issue 15), with the real binary over loopback:
//!
//! * an organiser writes campaign packets; declarants import them (a tampered packet, or one
//!   for another log, is refused and the wallet is unchanged);
//! * a wallet declares with no server at all, to a PNG QR code (and the terminal) and to a
//!   file; a second entry while one is pending is refused;
//! * a courier, in an empty folder, submits a PNG and files holding a good entry, a stale one
//!   (the same pseudonym declared on another device first), one into a campaign that closed
//!   meanwhile, a damaged one and a line of garbage: each gets its own line and reason, the
//!   log grows by exactly the one good entry, the receipts file is the only thing written;
//!   resubmitting gives the same receipt;
//! * back home, the wallet confirms its entry from the public tiles alone (no per-entry look-up
//!   reaches the server) and explains the closed campaign; another wallet reads the courier's
//!   receipts file and is told why its entry was refused and what to do; a withdrawal made
//!   offline after the confirmation continues the confirmed declaration;
//! * a forged receipts file is not believed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{Server, field, probe};

/// Runs the binary from `cwd` with an empty `HOME`; credentials are issued 40 days in the
/// past (as in the other end-to-end tests) so that their month can be logged now.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    common::issuing_command(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .output()
        .expect("the headcount binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok_in(cwd: &Path, args: &[&str]) -> String {
    let o = run_in(cwd, args);
    assert!(
        o.status.success(),
        "headcount {args:?} failed:\n{}",
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails_in(cwd: &Path, args: &[&str]) -> String {
    let o = run_in(cwd, args);
    assert!(
        !o.status.success(),
        "headcount {args:?} succeeded:\n{}",
        text(&o)
    );
    text(&o)
}

fn tree_size(url: &str) -> u64 {
    let (_, body) = probe(url, "/checkpoint").expect("GET /checkpoint");
    String::from_utf8_lossy(&body)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Requests per route template, from the server's `/metrics`.
fn requests(url: &str) -> BTreeMap<String, u64> {
    let (_, body) = probe(url, "/metrics").expect("GET /metrics");
    let mut out = BTreeMap::new();
    for line in String::from_utf8_lossy(&body).lines() {
        let Some(rest) = line.strip_prefix("headcount_http_requests_total{route=\"") else {
            continue;
        };
        let (route, rest) = rest.split_once('"').unwrap();
        let n: u64 = rest.rsplit(' ').next().unwrap().parse().unwrap();
        *out.entry(route.to_owned()).or_default() += n;
    }
    out
}

#[test]
fn offline_entries_travel_by_qr_code_and_file_and_are_confirmed_from_public_data() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = |s: &str| d.join(s).to_str().unwrap().to_owned();
    let ok = |args: &[&str]| ok_in(d, args);
    let fails = |args: &[&str]| fails_in(d, args);
    let srv = Server::start(d, 50);
    let url = srv.url.clone();
    let log_key = srv.vkey();

    // Registrar and two campaigns: one open for an hour, one that closes at the next whole
    // minute boundary at least 90 s away (the log's timestamps are whole minutes).
    let rid = common::register_registrar(d, &url);
    ok(&["keygen", "organiser", "--out", &p("keys")]);
    let now = common::now();
    let closes_soon = (now + 90).div_ceil(60) * 60;
    let mut campaigns = Vec::new();
    for (name, closes) in [("open", now + 3600), ("soon", closes_soon)] {
        std::fs::write(
            d.join(format!("{name}.toml")),
            format!(
                "opens_at = \"{}\"\ncloses_at = \"{closes}\"\nregistrars = [\"{rid}\"]\n\n[[text]]\nlang = \"en\"\ntitle = \"{name}\"\nstatement = \"S.\"\n",
                now - 60
            ),
        )
        .unwrap();
        let out = ok(&[
            "campaign",
            "create",
            "--server",
            &url,
            "--key",
            &p("keys/organiser.key"),
            "--spec",
            &p(&format!("{name}.toml")),
        ]);
        campaigns.push(field(&out, "campaign id:"));
    }
    let (open, soon) = (campaigns[0].clone(), campaigns[1].clone());

    // Wallets a and b get credentials (online, earlier); 98 others that month; the month is
    // logged.
    std::fs::write(d.join("pass"), "correct horse battery staple\n").unwrap();
    let wallet = |w: &str| {
        vec![
            "--wallet".to_owned(),
            p(w),
            "--passphrase-file".into(),
            p("pass"),
        ]
    };
    let with = |fixed: &[&str], w: &str| -> Vec<String> {
        let mut v: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
        v.extend(wallet(w));
        v
    };
    let run = |v: &[String]| ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let run_fails = |v: &[String]| fails(&v.iter().map(String::as_str).collect::<Vec<_>>());
    for w in ["a", "b"] {
        run(&with(&["identity", "new", "--insecure-fast-kdf"], w));
        run(&with(
            &[
                "credential",
                "request",
                "--registrar",
                &rid,
                "--out",
                &p(&format!("{w}.req")),
            ],
            w,
        ));
        ok(&[
            "registrar",
            "issue",
            "--key",
            &p("keys/registrar.key"),
            "--state",
            &p("rstate"),
            "--request",
            &p(&format!("{w}.req")),
            "--out",
            &p(&format!("{w}.resp")),
        ]);
        run(&with(
            &[
                "credential",
                "finish",
                "--response",
                &p(&format!("{w}.resp")),
                "--server",
                &url,
            ],
            w,
        ));
    }
    let rid_parsed = headcount_core::RegistrarId::from_hex(&rid).unwrap();
    for i in 0..98 {
        let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
        let (req, _) =
            headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
        let doc = headcount_registrar::CredentialRequest::new(rid_parsed, None, req);
        std::fs::write(d.join(format!("more-{i}.json")), doc.to_json()).unwrap();
        ok(&[
            "registrar",
            "issue",
            "--key",
            &p("keys/registrar.key"),
            "--state",
            &p("rstate"),
            "--request",
            &p(&format!("more-{i}.json")),
            "--out",
            &p(&format!("more-{i}.resp")),
        ]);
    }
    let out = ok(&[
        "registrar",
        "close-period",
        "--key",
        &p("keys/registrar.key"),
        "--state",
        &p("rstate"),
        "--server",
        &url,
    ]);
    assert!(out.contains("100 credential(s)"), "{out}");

    // The organiser writes the packets.
    for (c, f) in [(&open, "open.packet"), (&soon, "soon.packet")] {
        let out = ok(&[
            "offline",
            "packet",
            c,
            "--server",
            &url,
            "--log-key",
            &log_key,
            "--out",
            &p(f),
        ]);
        assert!(out.contains("1 registrar(s), 1 logged month(s)"), "{out}");
    }

    // Bad packets are refused and change nothing.
    let before = std::fs::read(d.join("a")).unwrap();
    let packet = std::fs::read_to_string(d.join("open.packet")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&packet).unwrap();
    let entry = v["campaign"]["entry"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        &entry[..entry.len() - 2],
        if entry.ends_with("00") { "01" } else { "00" }
    );
    std::fs::write(d.join("tampered.packet"), packet.replace(entry, &flipped)).unwrap();
    let msg = run_fails(&with(&["offline", "import", &p("tampered.packet")], "a"));
    assert!(msg.contains("not proven to be in the log"), "{msg}");
    std::fs::write(d.join("junk.packet"), "{\"hello\": 1}").unwrap();
    let msg = run_fails(&with(&["offline", "import", &p("junk.packet")], "a"));
    assert!(msg.contains("not a headcount campaign packet"), "{msg}");
    ok(&[
        "keygen",
        "operator",
        "--origin",
        "other.example/log",
        "--out",
        &p("other"),
    ]);
    let other_key = std::fs::read_to_string(
        std::fs::read_dir(d.join("other"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "vkey"))
            .unwrap(),
    )
    .unwrap();
    let msg = run_fails(&with(
        &[
            "offline",
            "import",
            &p("open.packet"),
            "--log-key",
            other_key.trim(),
        ],
        "a",
    ));
    assert!(msg.contains("another log"), "{msg}");
    assert_eq!(std::fs::read(d.join("a")).unwrap(), before);
    // Declaring offline without a packet: refused, says what to do.
    let msg = run_fails(&with(
        &[
            "declare",
            &open,
            "--offline",
            "--alias",
            "Ana",
            "--out",
            &p("x.txt"),
        ],
        "a",
    ));
    assert!(msg.contains("offline import"), "{msg}");
    assert!(!d.join("x.txt").exists());

    for (w, f) in [
        ("a", "open.packet"),
        ("a", "soon.packet"),
        ("b", "open.packet"),
    ] {
        let out = run(&with(
            &["offline", "import", &p(f), "--log-key", &log_key],
            w,
        ));
        assert!(out.contains("imported"), "{out}");
    }
    // b's wallet is also on a second device.
    std::fs::copy(d.join("b"), d.join("b2")).unwrap();

    // Offline, no server anywhere: a declares to a QR code (PNG and terminal) and, in the
    // campaign that closes soon, to a file; b declares to a file.
    let out = run(&with(
        &[
            "declare",
            &open,
            "--offline",
            "--alias",
            "Ana",
            "--qr-png",
            &p("a.png"),
            "--qr",
        ],
        "a",
    ));
    assert!(out.contains("kept in the wallet as pending"), "{out}");
    assert!(
        out.contains('█') || out.contains('▀'),
        "no terminal QR code:\n{out}"
    );
    let a_hash = field(&out, "declaration made offline (entry")
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let msg = run_fails(&with(
        &[
            "declare",
            &open,
            "--offline",
            "--alias",
            "Ana",
            "--out",
            &p("x.txt"),
        ],
        "a",
    ));
    assert!(msg.contains("still pending"), "{msg}");
    run(&with(
        &[
            "declare",
            &soon,
            "--offline",
            "--alias",
            "Ana",
            "--out",
            &p("late.txt"),
        ],
        "a",
    ));
    run(&with(
        &[
            "declare",
            &open,
            "--offline",
            "--alias",
            "Bo",
            "--out",
            &p("carried.txt"),
        ],
        "b",
    ));
    // The pending entries can be written again (the first file lost): the same bytes.
    run(&with(
        &["offline", "export", "--out", &p("export.txt")],
        "a",
    ));
    let exported = std::fs::read_to_string(d.join("export.txt")).unwrap();
    let late_line = std::fs::read_to_string(d.join("late.txt")).unwrap();
    assert_eq!(exported.lines().count(), 2, "{exported}");
    assert!(exported.contains(late_line.trim()), "{exported}");
    // Meanwhile b's other device declares online first: b's carried entry becomes stale.
    let out = run(&with(
        &["declare", &open, "--server", &url, "--alias", "Bo (phone)"],
        "b2",
    ));
    assert!(out.contains("declaration logged"), "{out}");
    // The file also picks up a damaged entry (one character changed) and a line of garbage.
    let carried = std::fs::read_to_string(d.join("carried.txt")).unwrap();
    let line = carried.lines().next().unwrap();
    let mut damaged: Vec<char> = line.chars().collect();
    let i = damaged.len() - 40;
    damaged[i] = if damaged[i] == 'A' { 'B' } else { 'A' };
    let damaged: String = damaged.into_iter().collect();
    std::fs::write(
        d.join("carried.txt"),
        format!("# carried across the border\n{line}\n{damaged}\nnot an entry\n"),
    )
    .unwrap();

    // Wait until the second campaign has closed (by the log's minute timestamps).
    while common::now() < closes_soon + 1 {
        std::thread::sleep(Duration::from_millis(500));
    }

    // The courier, in an empty folder, with nothing of the declarants but the files.
    let courier = d.join("courier");
    std::fs::create_dir(&courier).unwrap();
    // A log that cannot be reached: every entry is reported as not submitted, after the
    // retries; the report says so; nothing else is written.
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let out = fails_in(
        &courier,
        &[
            "submit",
            &p("late.txt"),
            "--server",
            &dead,
            "--log-key",
            &log_key,
            "--retries",
            "1",
            "--retry-delay",
            "0",
            "--receipts",
            "dead.json",
        ],
    );
    assert!(out.contains("NOT SUBMITTED"), "{out}");
    let dead_report = std::fs::read_to_string(courier.join("dead.json")).unwrap();
    assert!(dead_report.contains("\"failed\""), "{dead_report}");
    std::fs::remove_file(courier.join("dead.json")).unwrap();
    let size_before = tree_size(&url);
    let args = [
        "submit",
        &p("a.png"),
        &p("carried.txt"),
        &p("late.txt"),
        "--server",
        &url,
        "--receipts",
        "receipts.json",
        "--retry-delay",
        "0",
    ];
    let out = fails_in(&courier, &args);
    let line_with = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{out}"))
            .to_owned()
    };
    assert!(
        line_with("a.png QR code 1").contains("logged at index"),
        "{out}"
    );
    let stale = line_with("carried.txt line 2");
    assert!(stale.contains("REFUSED (stale_predecessor)"), "{out}");
    assert!(stale.contains("another entry with your pseudonym"), "{out}");
    assert!(line_with("carried.txt line 3").contains("REFUSED"), "{out}");
    assert!(
        line_with("carried.txt line 4").contains("UNREADABLE"),
        "{out}"
    );
    let late = line_with("late.txt line 1");
    assert!(late.contains("REFUSED (campaign_closed)"), "{out}");
    assert!(out.contains("1 of 5 entries logged"), "{out}");
    assert!(out.contains("4 of 5 entries were not logged"), "{out}");
    // Exactly the one good entry was added.
    assert_eq!(tree_size(&url), size_before + 1);
    // The courier's folder holds the receipts file and nothing else.
    let left: Vec<String> = std::fs::read_dir(&courier)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["receipts.json".to_owned()]);
    let receipts = std::fs::read_to_string(courier.join("receipts.json")).unwrap();
    assert!(
        !receipts.contains("Ana") && !receipts.contains(&p("a")),
        "{receipts}"
    );
    let logged = line_with("a.png QR code 1");
    let index = logged.rsplit("logged at index ").next().unwrap().trim();
    // Again: idempotent, the same receipt; the log does not grow.
    let again = ok_in(&courier, &["submit", &p("a.png"), "--server", &url]);
    assert!(
        again.contains(&format!("logged at index {index}\n")),
        "{again}\n{logged}"
    );
    assert_eq!(tree_size(&url), size_before + 1);

    // Back home: a confirms from public tiles only.
    let m0 = requests(&url);
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--server",
            &url,
            "--log-key",
            &log_key,
        ],
        "a",
    ));
    let m1 = requests(&url);
    assert!(
        out.contains(&format!("entry {}: found in the public log", &a_hash[..16])),
        "{out}"
    );
    // The closed campaign's entry: within two minutes of the close a round may be in flight.
    assert!(out.contains("not in the log yet"), "{out}");
    assert!(
        out.contains("1 entr(y/ies) confirmed; 1 still pending"),
        "{out}"
    );
    for (route, n) in &m1 {
        let asked = n - m0.get(route).copied().unwrap_or(0);
        if asked > 0 && route != "/metrics" {
            assert!(
                route == "/checkpoint" || route.starts_with("/tile"),
                "confirm asked {route} ({asked}×)"
            );
        }
    }
    let out = run(&with(
        &["identity", "check", "--server", &url, "--log-key", &log_key],
        "a",
    ));
    assert!(out.contains("1 receipts still in the log"), "{out}");
    // The same confirmation again finds nothing new and changes nothing.
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--server",
            &url,
            "--log-key",
            &log_key,
        ],
        "a",
    ));
    assert!(
        out.contains("0 entr(y/ies) confirmed; 1 still pending"),
        "{out}"
    );

    // a withdraws, offline too: the withdrawal names the confirmed declaration as its
    // predecessor; a courier submits it and a's wallet reads the new receipts file.
    let msg = run_fails(&with(&["withdraw", &open, "--offline"], "a"));
    assert!(msg.contains("needs somewhere to put the entry"), "{msg}");
    let out = run(&with(
        &[
            "withdraw",
            &open,
            "--offline",
            "--out",
            &p("withdrawal.txt"),
        ],
        "a",
    ));
    assert!(out.contains("withdrawal made offline"), "{out}");
    let out = ok_in(
        &courier,
        &[
            "submit",
            &p("withdrawal.txt"),
            "--server",
            &url,
            "--receipts",
            "second.json",
        ],
    );
    assert!(out.contains("1 of 1 entries logged"), "{out}");
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--receipts",
            &courier.join("second.json").to_string_lossy(),
        ],
        "a",
    ));
    assert!(out.contains("(receipt verified)"), "{out}");
    assert!(
        out.contains("1 entr(y/ies) confirmed; 1 still pending"),
        "{out}"
    );
    let out = run(&with(
        &["identity", "check", "--server", &url, "--log-key", &log_key],
        "a",
    ));
    assert!(out.contains("2 receipts still in the log"), "{out}");

    // b reads the courier's receipts file: told why, and what to do.
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--receipts",
            &courier.join("receipts.json").to_string_lossy(),
        ],
        "b",
    ));
    assert!(out.contains("stale_predecessor"), "{out}");
    assert!(out.contains("then make a new one"), "{out}");
    // a's wallet reads it too: its closed-campaign entry is explained.
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--receipts",
            &courier.join("receipts.json").to_string_lossy(),
        ],
        "a",
    ));
    assert!(out.contains("campaign_closed"), "{out}");
    assert!(out.contains("cannot be counted"), "{out}");

    // A forged receipts file (the courier's receipt pointed at another index) is not believed.
    let mut forged: serde_json::Value = serde_json::from_str(&receipts).unwrap();
    for e in forged["entries"].as_array_mut().unwrap() {
        if e["status"] == "refused" {
            e["status"] = "logged".into();
            e["receipt"] = serde_json::from_str::<serde_json::Value>(&receipts).unwrap()["entries"]
                [0]["receipt"]
                .clone();
        }
    }
    std::fs::write(d.join("forged.json"), forged.to_string()).unwrap();
    let out = run(&with(
        &["offline", "confirm", "--receipts", &p("forged.json")],
        "b",
    ));
    assert!(out.contains("does not verify"), "{out}");
    assert!(
        out.contains("0 entr(y/ies) confirmed; 1 still pending"),
        "{out}"
    );

    // b, from the public log: its other device's declaration is found and kept, the stale
    // entry is dropped, and b can declare again, continuing the other device's entry.
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--server",
            &url,
            "--log-key",
            &log_key,
        ],
        "b",
    ));
    assert!(out.contains("made with your credential elsewhere"), "{out}");
    assert!(out.contains("can no longer be logged"), "{out}");
    assert!(
        out.contains("0 entr(y/ies) confirmed; 0 still pending"),
        "{out}"
    );
    run(&with(
        &[
            "declare",
            &open,
            "--offline",
            "--alias",
            "Bo",
            "--out",
            &p("again.txt"),
        ],
        "b",
    ));
    let out = ok_in(&courier, &["submit", &p("again.txt"), "--server", &url]);
    assert!(out.contains("1 of 1 entries logged"), "{out}");
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--server",
            &url,
            "--log-key",
            &log_key,
        ],
        "b",
    ));
    assert!(
        out.contains("1 entr(y/ies) confirmed; 0 still pending"),
        "{out}"
    );

    // Two minutes after the close, a's entry in the closed campaign is given up, with the
    // reason.
    while common::now() < closes_soon + 121 {
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = run(&with(
        &[
            "offline",
            "confirm",
            "--server",
            &url,
            "--log-key",
            &log_key,
        ],
        "a",
    ));
    assert!(out.contains("the campaign closed at"), "{out}");
    assert!(
        out.contains("0 entr(y/ies) confirmed; 0 still pending"),
        "{out}"
    );
}
