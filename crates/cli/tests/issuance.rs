//! Credential issuance through the real `headcount` binary, end to end: a log server, a
//! registrar issuing offline (files) and online (its HTTP service, approved from the admin
//! API) into a calendar month, the month closed and logged once it is over, then declarations,
//! re-declaration, withdrawal, a claim and an audit. Issuance runs 40 days in the past
//! (`HEADCOUNT_CLOCK_OFFSET`, honoured only by the registrar's ledger and the wallet's month
//! check) so that its month can be closed now. Loopback only; every child process is killed when the test ends.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_headcount");

/// Kills and reaps every child on drop, panics included.
#[derive(Default)]
struct Children(Vec<Child>);

impl Children {
    fn push(&mut self, c: Child) -> usize {
        self.0.push(c);
        self.0.len() - 1
    }
    fn kill(&mut self, i: usize) {
        let _ = self.0[i].kill();
        let _ = self.0[i].wait();
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Issuance happens this many seconds in the past (40 days): "last month" or the one before.
const ISSUE_OFFSET: i64 = -40 * 86_400;

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("HEADCOUNT_LOG")
        .stdin(Stdio::null());
    // Closing a month runs on the real clock (the month must be over); issuing and
    // finishing credentials run in the past.
    if args.get(1) != Some(&"close-period") {
        c.env("HEADCOUNT_CLOCK_OFFSET", ISSUE_OFFSET.to_string());
    }
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().expect("the headcount binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs and insists on success; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    let (out, err) = text(&o);
    assert!(
        o.status.success(),
        "headcount {args:?} failed ({}):\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    out
}

/// Runs and insists on failure; returns stdout + stderr.
fn fails(args: &[&str]) -> (Output, String) {
    let o = run(args);
    let (out, err) = text(&o);
    assert!(
        !o.status.success(),
        "headcount {args:?} should have failed:\nstdout:\n{out}\nstderr:\n{err}"
    );
    (o, format!("{out}\n{err}"))
}

/// The value after `prefix` on the first line that has it.
fn field(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
        .trim()
        .to_owned()
}

/// Spawns a long-running child with stdout and stderr going to files in `dir`.
fn spawn(children: &mut Children, dir: &Path, name: &str, args: &[&str]) -> (usize, PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let f = fs::File::create(&log).unwrap();
    let child = cmd(args)
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .expect("spawn headcount");
    (children.push(child), log)
}

/// Waits until `log` has a line containing `marker`; returns the text after it.
fn wait_for_line(log: &Path, marker: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = fs::read_to_string(log).unwrap_or_default();
        if let Some(l) = t.lines().find(|l| l.contains(marker)) {
            return l[l.find(marker).unwrap() + marker.len()..]
                .trim()
                .to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {marker:?} in:\n{t}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A plain HTTP/1.0 GET on loopback; returns (status, body).
fn get(url: &str, path: &str) -> (u16, String) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let t = String::from_utf8_lossy(&buf).into_owned();
    let status = t.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = t
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

fn credentialed(url: &str, campaign: &str) -> u64 {
    let (status, body) = get(url, &format!("/v1/campaigns/{campaign}/tally"));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["credentialed"]
        .as_u64()
        .unwrap_or_else(|| panic!("{body}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn issuance_offline_and_online_then_declare_claim_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = |s: &str| d.join(s).to_str().unwrap().to_owned();
    let mut children = Children::default();

    // The log server, on a port the OS picks (read back from its output). It
    // counts as busy all the time, so every credentialed submission below goes
    // through the client's answer to `busy_work_required` (computing the work).
    fs::write(
        d.join("server.toml"),
        "batch_interval_ms = 50\npublic_metrics = true\n[admission]\nbusy_work_bits = 8\nbusy_at = 0\n",
    )
    .unwrap();
    let (_, server_log) = spawn(
        &mut children,
        d,
        "server",
        &[
            "serve",
            "--data",
            &p("data"),
            "--listen",
            "127.0.0.1:0",
            "--config",
            &p("server.toml"),
        ],
    );
    let url = wait_for_line(&server_log, "serving on ");
    let log_key = fs::read_to_string(d.join("data/log.vkey"))
        .unwrap()
        .trim()
        .to_owned();

    // The registrar: keys, registrar entry, and the id file next to the key.
    let keys = p("keys");
    ok(&["keygen", "registrar", "--out", &keys]);
    fs::write(d.join("policy.txt"), "We meet every applicant in person.\n").unwrap();
    let key = p("keys/registrar.key");
    let out = ok(&[
        "registrar",
        "register",
        "--server",
        &url,
        "--key",
        &key,
        "--name",
        "Test registrar",
        "--policy-file",
        &p("policy.txt"),
    ]);
    let rid = field(&out, "registrar id:");
    assert_eq!(
        fs::read_to_string(d.join("keys/registrar.id"))
            .unwrap()
            .trim(),
        rid
    );

    // The organiser's campaign, accepting that registrar.
    ok(&["keygen", "organiser", "--out", &keys]);
    fs::write(
        d.join("campaign.toml"),
        format!(
            "opens_at = \"{}\"\ncloses_at = \"{}\"\nregistrars = [\"{rid}\"]\n\n[[text]]\nlang = \"en\"\ntitle = \"Renounce\"\nstatement = \"I renounce my membership.\"\n",
            now() - 60,
            now() + 3600
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
        &p("campaign.toml"),
    ]);
    let campaign = field(&out, "campaign id:");

    // Four declarants' wallets.
    fs::write(d.join("pass"), "correct horse battery staple\n").unwrap();
    fs::write(d.join("wrong"), "incorrect horse\n").unwrap();
    let pass = p("pass");
    for w in ["a", "b", "c", "r"] {
        ok(&[
            "identity",
            "new",
            "--wallet",
            &p(w),
            "--passphrase-file",
            &pass,
            "--insecure-fast-kdf",
        ]);
    }
    let state = p("state");

    // (a) Offline: request file → registrar issue → response file → finish.
    let out = ok(&[
        "credential",
        "request",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--registrar",
        &rid,
        "--out",
        &p("req.json"),
    ]);
    let req_id = field(&out, "request id:");
    let issue = [
        "registrar",
        "issue",
        "--key",
        &key,
        "--state",
        &state,
        "--request",
        &p("req.json"),
        "--out",
        &p("resp.json"),
    ];
    ok(&issue);
    let resp = fs::read_to_string(d.join("resp.json")).unwrap();
    assert!(resp.contains(&req_id), "{resp}");
    // The same request again: the same response, not a second credential.
    let out = ok(&issue);
    assert!(out.contains("1 issued this month so far"), "{out}");
    assert_eq!(fs::read_to_string(d.join("resp.json")).unwrap(), resp);
    let out = ok(&[
        "credential",
        "finish",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--response",
        &p("resp.json"),
        "--server",
        &url,
    ]);
    assert!(
        out.contains("credential stored") && out.contains("issued in"),
        "{out}"
    );
    // Finishing twice: the request is no longer pending.
    let (_, msg) = fails(&[
        "credential",
        "finish",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--response",
        &p("resp.json"),
        "--server",
        &url,
    ]);
    assert!(msg.contains("no pending request"), "{msg}");

    // Before its month is logged, the declarant's own software refuses to use the credential.
    let declare_a = [
        "declare",
        &campaign,
        "--server",
        &url,
        "--alias",
        "Ana",
        "--message",
        "first",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
    ];
    let (_, msg) = fails(&declare_a);
    assert!(msg.contains("has not logged"), "{msg}");

    // (b) Online: the registrar's service; the declarant submits, the registrar approves.
    let (service, service_log) = spawn(
        &mut children,
        d,
        "registrar",
        &[
            "registrar",
            "serve",
            "--key",
            &key,
            "--state",
            &state,
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ],
    );
    let public = wait_for_line(&service_log, "public API listening on ");
    let admin = wait_for_line(&service_log, "admin API listening on ");
    // Every admin call carries the token the service wrote (0600) into its state directory.
    let token = wait_for_line(&service_log, "admin token in ");

    let out = ok(&[
        "credential",
        "request",
        "--wallet",
        &p("b"),
        "--passphrase-file",
        &pass,
        "--registrar",
        &rid,
        "--registrar-url",
        &public,
    ]);
    let b_id = field(&out, "request id:");
    let listed = ok(&[
        "registrar",
        "requests",
        "--admin",
        &admin,
        "--admin-token",
        &token,
    ]);
    assert!(
        listed.contains(&b_id) && listed.contains("1 pending"),
        "{listed}"
    );
    // Not approved yet: status says pending and stores nothing.
    let status_b = [
        "credential",
        "status",
        "--wallet",
        &p("b"),
        "--passphrase-file",
        &pass,
        "--registrar-url",
        &public,
        "--server",
        &url,
    ];
    assert!(ok(&status_b).contains("pending"));
    ok(&[
        "registrar",
        "approve",
        &b_id,
        "--admin",
        &admin,
        "--admin-token",
        &token,
    ]);
    let out = ok(&status_b);
    assert!(out.contains("credential stored"), "{out}");
    assert!(ok(&status_b).contains("no pending request"));

    // `--wait`: the declarant waits; the registrar approves meanwhile.
    let (waiter, wait_log) = spawn(
        &mut children,
        d,
        "wait",
        &[
            "credential",
            "request",
            "--wallet",
            &p("c"),
            "--passphrase-file",
            &pass,
            "--registrar",
            &rid,
            "--registrar-url",
            &public,
            "--wait",
            "--server",
            &url,
            "--poll-interval-ms",
            "50",
        ],
    );
    let c_id = wait_for_line(&wait_log, "request id:");
    wait_for_line(&wait_log, "submitted");
    ok(&[
        "registrar",
        "approve",
        &c_id,
        "--admin",
        &admin,
        "--admin-token",
        &token,
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let st = loop {
        if let Some(st) = children.0[waiter].try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "--wait did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    let wl = fs::read_to_string(&wait_log).unwrap();
    assert!(st.success() && wl.contains("credential stored"), "{wl}");

    // A rejected request: the declarant sees the reason; nothing is issued.
    let out = ok(&[
        "credential",
        "request",
        "--wallet",
        &p("r"),
        "--passphrase-file",
        &pass,
        "--registrar",
        &rid,
        "--registrar-url",
        &public,
    ]);
    let r_id = field(&out, "request id:");
    ok(&[
        "registrar",
        "reject",
        &r_id,
        "--reason",
        "could not meet you",
        "--admin",
        &admin,
        "--admin-token",
        &token,
    ]);
    let (_, msg) = fails(&[
        "credential",
        "status",
        "--wallet",
        &p("r"),
        "--passphrase-file",
        &pass,
        "--registrar-url",
        &public,
        "--server",
        &url,
    ]);
    assert!(msg.contains("could not meet you"), "{msg}");

    // The running service (whose clock is in the issuance month) cannot close the month: it is
    // not over yet.
    let (_, msg) = fails(&[
        "registrar",
        "close-period",
        &month_of_issuance(),
        "--admin",
        &admin,
        "--admin-token",
        &token,
        "--server",
        &url,
    ]);
    assert!(msg.contains("not over yet"), "{msg}");
    children.kill(service);
    // 97 more people get credentials that month (offline), so that it reaches the minimum
    // anonymity set of 100 (a, b, c and these).
    for i in 0..97 {
        let req = p(&format!("more-{i}.json"));
        ok(&[
            "credential",
            "request",
            "--wallet",
            &p("r"),
            "--passphrase-file",
            &pass,
            "--registrar",
            &rid,
            "--out",
            &req,
        ]);
        ok(&[
            "registrar",
            "issue",
            "--key",
            &key,
            "--state",
            &state,
            "--request",
            &req,
            "--out",
            &p(&format!("more-{i}.resp")),
        ]);
    }
    // Offline close on the real clock: every month that is over is logged.
    let out = ok(&[
        "registrar",
        "close-period",
        "--key",
        &key,
        "--state",
        &state,
        "--server",
        &url,
    ]);
    assert!(out.contains("100 credential(s) issued that month"), "{out}");
    // Again: idempotent, the same entry.
    let out = ok(&[
        "registrar",
        "close-period",
        &month_of_issuance(),
        "--key",
        &key,
        "--state",
        &state,
        "--server",
        &url,
    ]);
    assert!(out.contains("100 credential(s) issued that month"), "{out}");
    // A new request into the closed month is refused; nothing is written.
    ok(&[
        "credential",
        "request",
        "--wallet",
        &p("r"),
        "--passphrase-file",
        &pass,
        "--registrar",
        &rid,
        "--out",
        &p("req2.json"),
    ]);
    let (_, msg) = fails(&[
        "registrar",
        "issue",
        "--key",
        &key,
        "--state",
        &state,
        "--request",
        &p("req2.json"),
        "--out",
        &p("resp2.json"),
    ]);
    assert!(msg.contains("period_closed"), "{msg}");
    assert!(!d.join("resp2.json").exists());

    // Declare, re-declare (still one), claim, withdraw (zero).
    ok(&declare_a);
    assert_eq!(credentialed(&url, &campaign), 1);
    ok(&[
        "declare",
        &campaign,
        "--server",
        &url,
        "--alias",
        "Ana B.",
        "--message",
        "second",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
    ]);
    assert_eq!(credentialed(&url, &campaign), 1);

    ok(&[
        "claim",
        "prove",
        &campaign,
        "--challenge",
        "case 42",
        "--server",
        &url,
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--out",
        &p("bundle"),
    ]);
    let out = ok(&[
        "claim",
        "verify",
        &p("bundle"),
        "--challenge",
        "case 42",
        "--log-key",
        &log_key,
    ]);
    assert!(out.contains("VERIFIED") && out.contains("Ana B."), "{out}");
    let (o, msg) = fails(&[
        "claim",
        "verify",
        &p("bundle"),
        "--challenge",
        "case 43",
        "--log-key",
        &log_key,
    ]);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(msg.contains("NOT VERIFIED"), "{msg}");
    forged_bundles_are_refused(d, &p("bundle"), &log_key);

    ok(&[
        "withdraw",
        &campaign,
        "--server",
        &url,
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
    ]);
    assert_eq!(credentialed(&url, &campaign), 0);

    // The wallet's records, in words.
    let shown = ok(&[
        "identity",
        "show",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
    ]);
    for words in [
        "issued in",
        "declared ",
        "re-declared",
        "withdrew",
        &campaign[..16],
    ] {
        assert!(shown.contains(words), "{words:?} in:\n{shown}");
    }
    assert!(!shown.contains("ReceiptKind"), "{shown}");
    // Every receipt the wallet kept (declarations and the withdrawal) is
    // still in the log, consistent with its current checkpoint.
    let out = ok(&[
        "identity",
        "check",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--server",
        &url,
        "--log-key",
        &log_key,
    ]);
    assert!(
        out.contains("receipts still in the log") && !out.contains("NOT"),
        "{out}"
    );

    // A wrong passphrase fails clearly, and changes nothing.
    let (_, msg) = fails(&[
        "declare",
        &campaign,
        "--server",
        &url,
        "--alias",
        "Bo",
        "--wallet",
        &p("b"),
        "--passphrase-file",
        &p("wrong"),
    ]);
    assert!(msg.contains("wrong passphrase"), "{msg}");
    assert_eq!(credentialed(&url, &campaign), 0);

    // The audit agrees.
    let out = ok(&["audit", &url, "--log-key", &log_key, "--quiet"]);
    assert!(out.contains("AGREES"), "{out}");
    // Every credentialed submission was first refused for want of busy work
    // (and then computed it): the log counted those refusals.
    let (_, metrics) = get(&url, "/metrics");
    let busy: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("headcount_rejections_total{code=\"busy_work_required\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(busy >= 3, "busy-work refusals counted: {busy}\n{metrics}");

    // A mirror (C2SP tlog-mirror) follows the log; then the log is taken down, and the
    // audit, the declarant's receipt check and the claim still succeed from the mirror alone.
    let out = ok(&["keygen", "witness", "--name", "mirror.test", "--out", &keys]);
    let mirror_vkey = out
        .lines()
        .find_map(|l| l.strip_prefix("witness key: "))
        .unwrap()
        .to_owned();
    let mirror_key = format!("{keys}/mirror.test.skey");
    let mirror_state = p("mirror");
    let mirror_args: &[&str] = &[
        "mirror",
        "serve",
        "--key",
        &mirror_key,
        "--state",
        &mirror_state,
        "--listen",
        "127.0.0.1:0",
        "--log-url",
        &url,
        "--log-key",
        &log_key,
        "--interval-ms",
        "100",
    ];
    // Killed (SIGKILL) moments after it starts, whatever it is doing, then restarted on the
    // same state: it resumes.
    let (first, first_log) = spawn(&mut children, d, "mirror-killed", mirror_args);
    wait_for_line(&first_log, "mirror url: ");
    std::thread::sleep(Duration::from_millis(30));
    children.kill(first);
    let (_, mirror_log) = spawn(&mut children, d, "mirror", mirror_args);
    let mirror_url = wait_for_line(&mirror_log, "mirror url: ");
    let (status, origin_cp) = get(&url, "/checkpoint");
    assert_eq!(status, 200);
    let origin_size = origin_cp.lines().nth(1).unwrap().to_owned();
    let (mirror_base, mirror_path) = mirror_url.rsplit_once('/').unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mirrored = loop {
        let (status, cp) = get(mirror_base, &format!("/{mirror_path}/checkpoint"));
        if status == 200 && cp.lines().nth(1) == Some(origin_size.as_str()) {
            break cp;
        }
        assert!(
            Instant::now() < deadline,
            "the mirror did not catch up:\n{}",
            fs::read_to_string(&mirror_log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(mirrored.contains("\u{2014} mirror.test "), "{mirrored}");
    children.kill(0);
    assert!(TcpStream::connect(url.strip_prefix("http://").unwrap()).is_err());
    // The audit from the mirror, with a witness policy that requires the mirror's cosignature.
    fs::write(
        d.join("mirror.policy"),
        format!("log {log_key}\nwitness M {mirror_vkey}\nquorum M\n"),
    )
    .unwrap();
    let out = ok(&[
        "audit",
        &mirror_url,
        "--log-key",
        &log_key,
        "--policy",
        &p("mirror.policy"),
        "--quiet",
    ]);
    assert!(out.contains("AGREES"), "{out}");
    let out = ok(&[
        "identity",
        "check",
        "--wallet",
        &p("a"),
        "--passphrase-file",
        &pass,
        "--server",
        &mirror_url,
        "--log-key",
        &log_key,
        "--policy",
        &p("mirror.policy"),
    ]);
    assert!(
        out.contains("receipts still in the log") && !out.contains("NOT"),
        "{out}"
    );
    let out = ok(&[
        "claim",
        "verify",
        &p("bundle"),
        "--challenge",
        "case 42",
        "--log-key",
        &log_key,
    ]);
    assert!(out.contains("VERIFIED") && out.contains("Ana B."), "{out}");
}

#[test]
fn help_says_what_each_command_does_and_never_reveals() {
    for (args, words) in [
        (
            &["registrar", "issue", "--help"][..],
            &["blind", "same response", "Offline"][..],
        ),
        (
            &["registrar", "close-period", "--help"],
            &[
                "--admin",
                "nothing about who",
                "once that month's entry is in the log",
            ],
        ),
        (
            &["registrar", "serve", "--help"],
            &["loopback", "no IP address"],
        ),
        (&["registrar", "requests", "--help"], &["request ids"]),
        (&["registrar", "approve", "--help"], &["blindly"]),
        (&["registrar", "reject", "--help"], &["reason"]),
        (&["registrar", "register", "--help"], &[".id"]),
        (
            &["credential", "request", "--help"],
            &["reveals nothing", "saved in your wallet"],
        ),
        (
            &["credential", "finish", "--help"],
            &["from the log", "verified"],
        ),
        (
            &["credential", "status", "--help"],
            &["Rejected", "request ids"],
        ),
    ] {
        let out = ok(args);
        for w in words {
            assert!(out.contains(w), "{args:?} --help lacks {w:?}:\n{out}");
        }
    }
}

#[test]
fn misuse_is_refused_before_anything_happens() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = |s: &str| d.join(s).to_str().unwrap().to_owned();
    let rid = "ab".repeat(32);
    // Neither --out nor --registrar-url; --wait without a log server to finish against.
    fails(&[
        "credential",
        "request",
        "--registrar",
        &rid,
        "--wallet",
        &p("w"),
    ]);
    fails(&[
        "credential",
        "request",
        "--registrar",
        &rid,
        "--wallet",
        &p("w"),
        "--registrar-url",
        "http://127.0.0.1:9",
        "--wait",
    ]);
    // No registrar id file and no --registrar.
    ok(&["keygen", "registrar", "--out", &p("k")]);
    let (_, msg) = fails(&[
        "registrar",
        "issue",
        "--key",
        &p("k/registrar.key"),
        "--state",
        &p("s"),
        "--request",
        &p("nothing.json"),
        "--out",
        &p("resp.json"),
    ]);
    assert!(msg.contains("registrar register"), "{msg}");
    // The admin API only on loopback.
    let (_, msg) = fails(&[
        "registrar",
        "serve",
        "--key",
        &p("k/registrar.key"),
        "--state",
        &p("s"),
        "--registrar",
        &rid,
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "0.0.0.0:0",
    ]);
    assert!(msg.contains("loopback"), "{msg}");
    // A malformed request file is refused with its code; nothing is issued.
    fs::write(
        d.join("bad.json"),
        r#"{"version":2,"registrar":"00","request":"00"}"#,
    )
    .unwrap();
    let (_, msg) = fails(&[
        "registrar",
        "issue",
        "--key",
        &p("k/registrar.key"),
        "--state",
        &p("s"),
        "--registrar",
        &rid,
        "--request",
        &p("bad.json"),
        "--out",
        &p("resp.json"),
    ]);
    assert!(msg.contains("invalid_"), "{msg}");
    assert!(!d.join("resp.json").exists());
}

/// The month issuance runs in (`ISSUE_OFFSET` before now), as `YYYY-MM`.
fn month_of_issuance() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .saturating_add_signed(ISSUE_OFFSET);
    headcount_core::Period::containing(t).to_string()
}

/// Every kind of forged or inconsistent claim bundle is refused, with the reason; a challenge
/// made by `claim challenge` is checked for its age; a bundle still verifies untouched.
fn forged_bundles_are_refused(d: &Path, bundle: &str, log_key: &str) {
    let original: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(bundle).unwrap()).unwrap();
    let verify = |b: &serde_json::Value, challenge: &str| -> (Option<i32>, String) {
        let path = d.join("forged.claim");
        fs::write(&path, serde_json::to_string(b).unwrap()).unwrap();
        let o = run(&[
            "claim",
            "verify",
            path.to_str().unwrap(),
            "--challenge",
            challenge,
            "--log-key",
            log_key,
        ]);
        let (out, err) = text(&o);
        (o.status.code(), format!("{out}\n{err}"))
    };
    let (code, msg) = verify(&original, "case 42");
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        msg.contains("registrar id") && msg.contains("fingerprint"),
        "{msg}"
    );
    assert!(msg.contains("anchor"), "{msg}");
    assert!(
        msg.contains("not made by `headcount claim challenge`"),
        "{msg}"
    );
    type Forge = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Forge, &str)> = vec![
        (
            "the anchor's signature",
            |b| {
                let a = b["anchor"].as_str().unwrap().to_owned();
                let mut lines: Vec<String> = a.split('\n').map(String::from).collect();
                let n: u64 = lines[1].parse().unwrap();
                lines[1] = (n + 1).to_string();
                b["anchor"] = lines.join("\n").into();
            },
            "anchor checkpoint is not signed",
        ),
        (
            "a consistency proof dropped",
            |b| b["consistency"] = serde_json::json!([]),
            "no consistency proof",
        ),
        (
            "a consistency proof altered",
            |b| {
                let c = &mut b["consistency"][0]["proof"][0];
                let mut h = c.as_str().unwrap().to_owned();
                h.replace_range(0..1, if h.starts_with('A') { "B" } else { "A" });
                *c = h.into();
            },
            "not consistent with the anchor",
        ),
        (
            "the issuance month replaced by the registrar entry",
            |b| b["period"] = b["registrar"].clone(),
            "not an issuance-period entry",
        ),
        (
            "campaign and registrar swapped",
            |b| {
                let c = b["campaign"].clone();
                b["campaign"] = b["registrar"].clone();
                b["registrar"] = c;
            },
            "not a campaign",
        ),
        (
            "the declaration's entry edited",
            |b| {
                let e = b["declaration"]["entry"].as_str().unwrap().to_owned();
                let last = e.len() - 2;
                let flipped = if &e[last..] == "00" { "01" } else { "00" };
                b["declaration"]["entry"] = format!("{}{flipped}", &e[..last]).into();
            },
            "the declaration part",
        ),
        (
            "an older format",
            |b| b["format"] = "headcount-claim-v1".into(),
            "not a headcount-claim-v2 bundle",
        ),
    ];
    for (name, forge, reason) in cases {
        let mut b = original.clone();
        forge(&mut b);
        let (code, msg) = verify(&b, "case 42");
        assert_eq!(code, Some(2), "{name}: {msg}");
        assert!(
            msg.contains("NOT VERIFIED") && msg.contains(reason),
            "{name}: {msg}"
        );
    }
    // A structured challenge older than the limit is refused before anything else.
    let (code, msg) = verify(
        &original,
        "headcount-challenge-v1; verifier=Officer 12; date=2020-01-01; nonce=00112233445566778899aabbccddeeff",
    );
    assert_eq!(code, Some(2), "{msg}");
    assert!(msg.contains("days ago"), "{msg}");
    // `claim challenge` makes a fresh one each time, naming the verifier and the date.
    let a = ok(&["claim", "challenge", "--verifier", "Officer 12"]);
    let b = ok(&["claim", "challenge", "--verifier", "Officer 12"]);
    let first = |s: &str| s.lines().next().unwrap().to_owned();
    assert!(
        first(&a).starts_with("headcount-challenge-v1; verifier=Officer 12; date="),
        "{a}"
    );
    assert_ne!(first(&a), first(&b), "a random nonce each time");
}
