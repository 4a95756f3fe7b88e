//! Network privacy of the declarant's commands (issue 8, items 2, 3, 5, 6),
//! with the real binary over loopback:
//!
//! * `identity check` asks the log nothing that depends on which leaves are
//!   the wallet's: the server's per-route counters show no proof or entry
//!   look-up, and a wallet with three receipts makes exactly the requests an
//!   empty wallet makes (without a policy: the whole tree's hash tiles; with
//!   a witness policy: the cosigned checkpoint alone);
//! * every request of `credential finish`, `declare`, `claim prove`,
//!   `withdraw --async` and `identity check` goes through a SOCKS5 proxy
//!   (written here) by name: the server's name, `headcount-test.invalid`,
//!   exists only in the proxy, so nothing was resolved or sent directly;
//! * without a proxy (or with `socks5://`) a non-loopback server is refused
//!   before anything is sent.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{BIN, Server, field, free_port, poll, probe};

/// Appended to every server config here: the request counters are read on the public
/// listener, and raw test submissions carry no admission work.
const EXTRA: &str = "public_metrics = true\n[admission]\npublish_work_bits = 0\n";

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = common::issuing_command(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the headcount binary runs")
}

fn ok_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run_env(args, env);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "headcount {args:?} failed:\n{o}\n{e}");
    o
}

fn ok(args: &[&str]) -> String {
    ok_env(args, &[])
}

fn fails(args: &[&str]) -> String {
    let out = run_env(args, &[]);
    assert!(!out.status.success(), "headcount {args:?} succeeded");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Requests per route template, from the server's `/metrics`.
fn requests(url: &str) -> BTreeMap<String, u64> {
    let (status, body) = probe(url, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200);
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

/// What was asked between two readings of the counters (`/metrics` itself left out).
fn asked(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(r, _)| r.as_str() != "/metrics")
        .map(|(r, n)| (r.clone(), n - before.get(r).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// A child process killed when dropped.
struct Kid(Child);
impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A log with a registrar, a campaign, and wallet `a` holding a credential
/// (from an offline issuance finished over `finish_via`, with `finish_env`).
struct World {
    srv: Server,
    d: PathBuf,
    log_key: String,
    campaign: String,
    _witness: Option<Kid>,
    policy: Option<PathBuf>,
}

impl World {
    fn p(&self, s: &str) -> String {
        self.d.join(s).to_str().unwrap().to_owned()
    }

    fn new(d: &Path, witnessed: bool) -> World {
        let mut srv = Server::start_with(d, 50, EXTRA);
        let url = srv.url.clone();
        let log_key = srv.vkey();
        let p = |s: &str| d.join(s).to_str().unwrap().to_owned();
        let mut witness = None;
        let mut policy = None;
        if witnessed {
            // A witness for this log, and the server restarted with a 1-of-1 policy.
            ok(&[
                "keygen",
                "witness",
                "--name",
                "w.example",
                "--out",
                &p("keys"),
            ]);
            let wkey = std::fs::read_to_string(d.join("keys/w.example.vkey"))
                .unwrap()
                .trim()
                .to_owned();
            let port = free_port();
            let child = Command::new(BIN)
                .args([
                    "witness",
                    "serve",
                    "--key",
                    &p("keys/w.example.skey"),
                    "--state",
                    &p("witness-state"),
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--log",
                    &format!("headcount.local/log={log_key}"),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            witness = Some(Kid(child));
            let wurl = format!("http://127.0.0.1:{port}");
            poll("the witness", Duration::from_secs(30), || {
                TcpStream::connect(("127.0.0.1", port)).ok()
            });
            std::fs::write(
                d.join("policy.txt"),
                format!("log {log_key}\nwitness w.example {wkey} {wurl}\nquorum w.example\n"),
            )
            .unwrap();
            policy = Some(d.join("policy.txt"));
            srv.kill();
            std::fs::write(
                &srv.config,
                format!(
                    "batch_interval_ms = 50\norigin = \"headcount.local/log\"\npolicy_file = \"{}\"\n{EXTRA}",
                    p("policy.txt")
                ),
            )
            .unwrap();
            srv.restart();
        }
        let url = if witnessed { srv.url.clone() } else { url };
        let rid = common::register_registrar(d, &url);
        ok(&["keygen", "organiser", "--out", &p("keys")]);
        std::fs::write(
            d.join("campaign.toml"),
            format!(
                "opens_at = \"{}\"\ncloses_at = \"{}\"\nregistrars = [\"{rid}\"]\nunverified_difficulty = 4\n\n[[text]]\nlang = \"en\"\ntitle = \"T\"\nstatement = \"S.\"\n",
                common::now() - 60,
                common::now() + 3600
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
        std::fs::write(d.join("pass"), "correct horse battery staple\n").unwrap();
        for w in ["a", "empty"] {
            ok(&[
                "identity",
                "new",
                "--wallet",
                &p(w),
                "--passphrase-file",
                &p("pass"),
                "--insecure-fast-kdf",
            ]);
        }
        ok(&[
            "credential",
            "request",
            "--wallet",
            &p("a"),
            "--passphrase-file",
            &p("pass"),
            "--registrar",
            &rid,
            "--out",
            &p("req.json"),
        ]);
        ok(&[
            "registrar",
            "issue",
            "--key",
            &p("keys/registrar.key"),
            "--state",
            &p("rstate"),
            "--request",
            &p("req.json"),
            "--out",
            &p("resp.json"),
        ]);
        World {
            srv,
            d: d.to_owned(),
            log_key,
            campaign,
            _witness: witness,
            policy,
        }
    }

    /// Issues 99 more credentials in the month of the first (to reach the minimum anonymity
    /// set of 100), then closes that month and logs its size, so its credentials can declare.
    fn close_batch(&self) {
        let rid = headcount_core::RegistrarId::from_hex(
            std::fs::read_to_string(self.p("keys/registrar.id"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        for i in 0..99 {
            let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
            let (req, _) =
                headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
            let doc = headcount_registrar::CredentialRequest::new(rid, None, req);
            let path = self.p(&format!("more-{i}.json"));
            std::fs::write(&path, doc.to_json()).unwrap();
            ok(&[
                "registrar",
                "issue",
                "--key",
                &self.p("keys/registrar.key"),
                "--state",
                &self.p("rstate"),
                "--request",
                &path,
                "--out",
                &self.p(&format!("more-{i}.resp")),
            ]);
        }
        let out = ok(&[
            "registrar",
            "close-period",
            "--key",
            &self.p("keys/registrar.key"),
            "--state",
            &self.p("rstate"),
            "--server",
            &self.srv.url,
        ]);
        assert!(out.contains("100 credential(s)"), "{out}");
    }

    /// Wallet arguments for `w`.
    fn wallet(&self, w: &str) -> Vec<String> {
        vec![
            "--wallet".into(),
            self.p(w),
            "--passphrase-file".into(),
            self.p("pass"),
        ]
    }
}

fn args<'a>(fixed: &[&'a str], more: &'a [String]) -> Vec<&'a str> {
    let mut v = fixed.to_vec();
    v.extend(more.iter().map(String::as_str));
    v
}

/// Finishes the credential, declares twice and withdraws: three receipts.
fn three_receipts(w: &World, server: &str, extra: &[String]) {
    let wa = w.wallet("a");
    let mut more = wa.clone();
    more.extend(extra.iter().cloned());
    ok(&args(
        &[
            "credential",
            "finish",
            "--response",
            &w.p("resp.json"),
            "--server",
            server,
        ],
        &more,
    ));
    w.close_batch();
    for alias in ["Ana", "Ana B."] {
        ok(&args(
            &["declare", &w.campaign, "--server", server, "--alias", alias],
            &more,
        ));
    }
    ok(&args(&["withdraw", &w.campaign, "--server", server], &more));
}

#[test]
fn identity_check_asks_nothing_that_depends_on_the_wallet() {
    let tmp = tempfile::tempdir().unwrap();
    let w = World::new(tmp.path(), false);
    let url = w.srv.url.clone();
    three_receipts(&w, &url, &[]);

    let check = |wallet: &str| {
        let before = requests(&url);
        let out = ok(&args(
            &[
                "identity",
                "check",
                "--server",
                &url,
                "--log-key",
                &w.log_key,
            ],
            &w.wallet(wallet),
        ));
        (out, asked(&before, &requests(&url)))
    };
    let (out, full) = check("a");
    assert!(out.contains("3 receipts still in the log"), "{out}");
    assert!(!out.contains("NOT"), "{out}");
    assert!(out.contains("checked against the whole tree"), "{out}");
    // Only the checkpoint and whole hash tiles; no proof, no entry look-up.
    assert_eq!(
        full.keys().cloned().collect::<Vec<_>>(),
        vec!["/checkpoint".to_owned(), "/tile/{*path}".to_owned()],
        "{full:?}"
    );
    let size: u64 = serde_json::from_slice::<serde_json::Value>(&probe(&url, "/v1/log").unwrap().1)
        .unwrap()["tree_size"]
        .as_u64()
        .unwrap();
    let hash_tiles = headcount_tlog::tiles_for_size(headcount_tlog::TreeSize(size))
        .iter()
        .filter(|t| t.level.is_some())
        .count() as u64;
    assert_eq!(full["/tile/{*path}"], hash_tiles, "{full:?}");
    // A wallet with nothing in it asks exactly the same.
    let (out, empty) = check("empty");
    assert!(out.contains("0 receipts still in the log"), "{out}");
    assert_eq!(full, empty);
}

#[test]
fn identity_check_with_witnesses_fetches_the_cosigned_checkpoint_only() {
    let tmp = tempfile::tempdir().unwrap();
    let w = World::new(tmp.path(), true);
    let url = w.srv.url.clone();
    let policy = w.policy.clone().unwrap();
    // The log serves its witness policy, byte for byte, for declarants to fetch and pin.
    let (status, served) = probe(&url, "/policy").unwrap();
    assert_eq!(status, 200);
    assert_eq!(served, std::fs::read(&policy).unwrap());
    three_receipts(&w, &url, &[]);
    let check = |wallet: &str| {
        let before = requests(&url);
        let out = ok(&args(
            &[
                "identity",
                "check",
                "--server",
                &url,
                "--log-key",
                &w.log_key,
                "--policy",
                policy.to_str().unwrap(),
            ],
            &w.wallet(wallet),
        ));
        (out, asked(&before, &requests(&url)))
    };
    let (out, full) = check("a");
    assert!(out.contains("3 receipts still in the log"), "{out}");
    assert!(
        out.contains("3 receipts checked by witness cosignatures"),
        "{out}"
    );
    assert_eq!(
        full,
        BTreeMap::from([("/checkpoint".to_owned(), 1)]),
        "only the cosigned checkpoint: {full:?}"
    );
    let (_, empty) = check("empty");
    assert_eq!(full, empty);
}

/// A SOCKS5 proxy (RFC 1928, with RFC 1929 user/password) that knows one
/// name: `headcount-test.invalid`, mapped to 127.0.0.1. It records every
/// CONNECT: `name HOST:PORT` or `ip ADDR:PORT`, and the user names offered.
struct Socks {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

fn socks_proxy() -> Socks {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let _ = socks_session(s, &log);
            });
        }
    });
    Socks { port, seen }
}

fn socks_session(mut c: TcpStream, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut b = [0u8; 2];
    c.read_exact(&mut b)?;
    assert_eq!(b[0], 5, "SOCKS version 5");
    let mut methods = vec![0u8; usize::from(b[1])];
    c.read_exact(&mut methods)?;
    if methods.contains(&2) {
        c.write_all(&[5, 2])?;
        let mut v = [0u8; 2];
        c.read_exact(&mut v)?;
        let mut user = vec![0u8; usize::from(v[1])];
        c.read_exact(&mut user)?;
        let mut plen = [0u8; 1];
        c.read_exact(&mut plen)?;
        let mut pass = vec![0u8; usize::from(plen[0])];
        c.read_exact(&mut pass)?;
        log.lock()
            .unwrap()
            .push(format!("user {}", String::from_utf8_lossy(&user)));
        c.write_all(&[1, 0])?;
    } else {
        c.write_all(&[5, 0])?;
    }
    let mut h = [0u8; 4];
    c.read_exact(&mut h)?;
    assert_eq!(h[..3], [5, 1, 0], "CONNECT");
    let target = match h[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            format!("ip {}", std::net::Ipv4Addr::from(a))
        }
        3 => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            let mut name = vec![0u8; usize::from(n[0])];
            c.read_exact(&mut name)?;
            format!("name {}", String::from_utf8_lossy(&name))
        }
        _ => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a)?;
            format!("ip {}", std::net::Ipv6Addr::from(a))
        }
    };
    let mut p = [0u8; 2];
    c.read_exact(&mut p)?;
    let port = u16::from_be_bytes(p);
    log.lock().unwrap().push(format!("{target}:{port}"));
    if target != "name headcount-test.invalid" {
        c.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    }
    let up = TcpStream::connect(("127.0.0.1", port))?;
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    let (mut c2, mut up2) = (c.try_clone()?, up.try_clone()?);
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up2, &mut c2);
        let _ = c2.shutdown(std::net::Shutdown::Write);
    });
    let mut up = up;
    let _ = std::io::copy(&mut c, &mut up);
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
    Ok(())
}

#[test]
fn declarant_commands_go_through_socks5h_and_resolve_nothing_here() {
    let tmp = tempfile::tempdir().unwrap();
    let w = World::new(tmp.path(), false);
    let socks = socks_proxy();
    let port = w.srv.url.rsplit(':').next().unwrap().to_owned();
    // A name only the proxy knows: reaching it proves the request went through.
    let remote = format!("http://headcount-test.invalid:{port}");
    let proxy = format!("socks5h://127.0.0.1:{}", socks.port);
    let via = ["--proxy".to_owned(), proxy.clone()];

    // Refused before anything is sent: no proxy, or socks5:// (local DNS).
    let before = requests(&w.srv.url);
    let msg = fails(&args(
        &["declare", &w.campaign, "--server", &remote, "--alias", "X"],
        &w.wallet("a"),
    ));
    assert!(
        msg.contains("refusing to contact headcount-test.invalid directly"),
        "{msg}"
    );
    assert!(msg.contains("--proxy socks5h://127.0.0.1:9150"), "{msg}");
    let msg = fails(&args(
        &[
            "identity",
            "check",
            "--server",
            &remote,
            "--log-key",
            &w.log_key,
            "--proxy",
            &format!("socks5://127.0.0.1:{}", socks.port),
        ],
        &w.wallet("a"),
    ));
    assert!(
        msg.contains("resolve the server's name itself") && msg.contains("socks5h://"),
        "{msg}"
    );
    let msg = fails(&[
        "claim",
        "prove",
        &w.campaign,
        "--challenge",
        "c",
        "--server",
        "http://abcdefghijklmnop.onion",
        "--direct",
    ]);
    assert!(msg.contains("reachable only through Tor"), "{msg}");
    assert!(asked(&before, &requests(&w.srv.url)).is_empty());
    assert!(socks.seen.lock().unwrap().is_empty());

    // Every declarant command, through the proxy.
    let mut more = w.wallet("a");
    more.extend(via.iter().cloned());
    ok(&args(
        &[
            "credential",
            "finish",
            "--response",
            &w.p("resp.json"),
            "--server",
            &remote,
        ],
        &more,
    ));
    w.close_batch();
    ok(&args(
        &[
            "declare",
            &w.campaign,
            "--server",
            &remote,
            "--alias",
            "Ana",
        ],
        &more,
    ));
    ok(&args(
        &[
            "claim",
            "prove",
            &w.campaign,
            "--challenge",
            "case 1",
            "--server",
            &remote,
            "--out",
            &w.p("bundle"),
        ],
        &more,
    ));
    let out = ok(&[
        "claim",
        "verify",
        &w.p("bundle"),
        "--challenge",
        "case 1",
        "--log-key",
        &w.log_key,
    ]);
    assert!(out.contains("VERIFIED"), "{out}");
    // Asynchronous withdrawal: accepted at once, receipt fetched later on a
    // fresh circuit (random SOCKS credentials).
    let out = run_env(
        &args(
            &[
                "withdraw",
                &w.campaign,
                "--server",
                &remote,
                "--async",
                "--receipt-after",
                "0",
                "--receipt-within",
                "1",
            ],
            &more,
        ),
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("accepted by the log"), "{err}");
    // The standard variable works too.
    let out = ok_env(
        &args(
            &[
                "identity",
                "check",
                "--server",
                &remote,
                "--log-key",
                &w.log_key,
            ],
            &w.wallet("a"),
        ),
        &[("ALL_PROXY", &proxy)],
    );
    assert!(out.contains("2 receipts still in the log"), "{out}");

    let seen = socks.seen.lock().unwrap().clone();
    let connects: Vec<&String> = seen.iter().filter(|s| !s.starts_with("user ")).collect();
    assert!(!connects.is_empty());
    for c in &connects {
        assert_eq!(
            c.as_str(),
            format!("name headcount-test.invalid:{port}"),
            "every connection asked the proxy for the name: {seen:?}"
        );
    }
    assert!(
        seen.iter().any(|s| s.starts_with("user ")),
        "the receipt was fetched with fresh SOCKS credentials: {seen:?}"
    );
}

/// A blocking POST over a fresh connection: (status, body).
fn post(url: &str, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_slice(&buf[end + 4..]).unwrap_or_default(),
    )
}

fn get(url: &str, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = probe(url, path).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

fn tree_size(url: &str) -> u64 {
    get(url, "/v1/log").1["tree_size"].as_u64().unwrap()
}

/// `POST /v1/entries/async` answers 202 before the round; the acceptance is
/// not durable (documented: only a receipt acknowledges), so a crash before
/// the round forgets the entry, and sending the same bytes again logs it
/// once. An entry refused in its round is reported by the look-up.
#[test]
fn async_acceptance_crash_resubmission_and_refusal() {
    use headcount_core::testkit::{self, bbs_key, test_key};
    let tmp = tempfile::tempdir().unwrap();
    // Rounds wait a minute: nothing is sequenced before the crash.
    let mut srv = Server::start_with(tmp.path(), 60_000, EXTRA);
    let (_, reg) = testkit::registrar(&test_key(1), bbs_key(1), "Registrar");
    let hash = headcount_core::EntryHash::of(&reg).to_hex();

    // Bad input is refused at once, as in a synchronous submission.
    let (status, v) = post(&srv.url, "/v1/entries/async", b"\x01not an entry");
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().is_some(), "{v}");
    let (status, v) = get(&srv.url, &format!("/v1/entries/{}", "ab".repeat(32)));
    assert_eq!(status, 404, "{v}");
    let (status, v) = get(&srv.url, "/v1/entries/not-hex");
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_id")));

    let (status, v) = post(&srv.url, "/v1/entries/async", &reg);
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["entry_hash"].as_str(), Some(hash.as_str()));
    assert_eq!(v["status"], "pending");
    let (status, v) = get(&srv.url, &format!("/v1/entries/{hash}"));
    assert_eq!(
        (status, v["status"].as_str()),
        (202, Some("pending")),
        "{v}"
    );
    assert_eq!(tree_size(&srv.url), 0);

    // SIGKILL before the round: the entry is forgotten, nothing was logged.
    srv.kill();
    std::fs::write(
        &srv.config,
        format!("batch_interval_ms = 400\norigin = \"headcount.local/log\"\n{EXTRA}"),
    )
    .unwrap();
    srv.restart();
    assert_eq!(get(&srv.url, &format!("/v1/entries/{hash}")).0, 404);
    assert_eq!(tree_size(&srv.url), 0);

    // The same bytes again: logged once, and the look-up gives the receipt.
    assert_eq!(post(&srv.url, "/v1/entries/async", &reg).0, 202);
    assert_eq!(post(&srv.url, "/v1/entries/async", &reg).0, 202);
    let receipt = poll("the receipt", Duration::from_secs(30), || {
        let (status, v) = get(&srv.url, &format!("/v1/entries/{hash}"));
        (status == 200).then_some(v)
    });
    assert_eq!(receipt["leaf_index"], 0);
    assert_eq!(tree_size(&srv.url), 1);
    let (status, sync) = post(&srv.url, "/v1/entries", &reg);
    assert_eq!((status, &sync["leaf_index"]), (200, &receipt["leaf_index"]));
    assert_eq!(tree_size(&srv.url), 1);

    // Two entries for one registrar's month in one round: one is logged, the
    // other is refused in the round, and its look-up says why.
    let Some(headcount_core::entry::Entry::Registrar(r)) =
        headcount_core::entry::Entry::decode(&reg).ok()
    else {
        unreachable!()
    };
    let month = headcount_core::Period(headcount_core::Period::containing(common::now()).0 - 1);
    let (_, b1) = testkit::period(&test_key(1), r.id(), month, 100);
    let (_, b2) = testkit::period(&test_key(1), r.id(), month, 110);
    assert_eq!(post(&srv.url, "/v1/entries/async", &b1).0, 202);
    assert_eq!(post(&srv.url, "/v1/entries/async", &b2).0, 202);
    let looked = |b: &[u8]| {
        let h = headcount_core::EntryHash::of(b).to_hex();
        poll("the round", Duration::from_secs(30), || {
            let (status, v) = get(&srv.url, &format!("/v1/entries/{h}"));
            (status != 202).then_some((status, v))
        })
    };
    let mut outcomes = [looked(&b1), looked(&b2)];
    outcomes.sort_by_key(|o| o.0);
    assert_eq!(outcomes[0].0, 200, "{outcomes:?}");
    assert_eq!(outcomes[1].0, 422, "{outcomes:?}");
    assert!(
        outcomes[1].1["error"]
            .as_str()
            .is_some_and(|c| c.contains("period_exists")),
        "{outcomes:?}"
    );
    assert_eq!(tree_size(&srv.url), 2);
}

/// With `min_round_interval_ms`, a full batch does not start a round early:
/// a second entry waits for the interval even though `max_batch` is 1.
#[test]
fn a_minimum_round_interval_holds_the_next_round() {
    use headcount_core::testkit::{self, bbs_key, test_key};
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Server::start_with(tmp.path(), 50, EXTRA);
    srv.kill();
    std::fs::write(
        &srv.config,
        format!(
            "batch_interval_ms = 50\nmax_batch = 1\nmin_round_interval_ms = 600000\norigin = \"headcount.local/log\"\n{EXTRA}"
        ),
    )
    .unwrap();
    srv.restart();
    let (_, r1) = testkit::registrar(&test_key(1), bbs_key(1), "One");
    let (_, r2) = testkit::registrar(&test_key(2), bbs_key(2), "Two");
    assert_eq!(post(&srv.url, "/v1/entries/async", &r1).0, 202);
    let h1 = headcount_core::EntryHash::of(&r1).to_hex();
    poll("the first round", Duration::from_secs(30), || {
        (get(&srv.url, &format!("/v1/entries/{h1}")).0 == 200).then_some(())
    });
    assert_eq!(post(&srv.url, "/v1/entries/async", &r2).0, 202);
    let h2 = headcount_core::EntryHash::of(&r2).to_hex();
    // Long past batch_interval (and max_batch reached), yet still pending.
    std::thread::sleep(Duration::from_millis(500));
    let (status, v) = get(&srv.url, &format!("/v1/entries/{h2}"));
    assert_eq!(
        (status, v["status"].as_str()),
        (202, Some("pending")),
        "{v}"
    );
    assert_eq!(tree_size(&srv.url), 1);
    // A bad value is refused at start.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "min_round_interval_ms = 90000000\n",
    )
    .unwrap();
    let out = run_env(
        &[
            "serve",
            "--data",
            tmp.path().join("other").to_str().unwrap(),
            "--config",
            tmp.path().join("bad.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("min_round_interval_ms"));
}

/// Cosigned checkpoints on a fixed schedule: receipts still carry the
/// witness quorum, and the cosigned checkpoint's times are the schedule's.
/// The setting needs a witness policy.
#[test]
fn cosigned_checkpoints_on_a_fixed_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = World::new(tmp.path(), true);
    let policy = w.policy.clone().unwrap();
    w.srv.kill();
    std::fs::write(
        &w.srv.config,
        format!(
            "batch_interval_ms = 50\ncheckpoint_interval_ms = 1000\norigin = \"headcount.local/log\"\npolicy_file = \"{}\"\n{EXTRA}",
            policy.display()
        ),
    )
    .unwrap();
    w.srv.restart();
    let url = w.srv.url.clone();
    three_receipts(&w, &url, &[]);
    // A declaration that insists on the quorum in its receipt.
    ok(&args(
        &[
            "declare",
            &w.campaign,
            "--server",
            &url,
            "--alias",
            "Ana C.",
            "--policy",
            policy.to_str().unwrap(),
        ],
        &w.wallet("a"),
    ));
    let out = ok(&args(
        &[
            "identity",
            "check",
            "--server",
            &url,
            "--log-key",
            &w.log_key,
            "--policy",
            policy.to_str().unwrap(),
        ],
        &w.wallet("a"),
    ));
    assert!(
        out.contains("4 receipts checked by witness cosignatures"),
        "{out}"
    );
    // Without a policy the schedule is refused at start.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "checkpoint_interval_ms = 1000\n",
    )
    .unwrap();
    let out = run_env(
        &[
            "serve",
            "--data",
            tmp.path().join("other").to_str().unwrap(),
            "--config",
            tmp.path().join("bad.toml").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a policy_file"));
}
