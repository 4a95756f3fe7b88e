//! `headcount app` and the registrar console, as people use them.
//!
//! * `app_refuses_*`: the loopback app's guard over real HTTP — no session, a wrong secret, a
//!   rebound Host, a missing or foreign Origin, a missing CSRF token — each refused with a
//!   sentence and nothing changed; the no-Tor rule at start and for a registrar's address.
//! * `browser_walks_every_flow`: a real log, a real registrar service (its console linked to
//!   the log) and the app, all on loopback, driven by Debian's Chromium with JavaScript
//!   disabled (`browser-tests/`, playwright-core): a person creates a wallet, gets a
//!   credential approved in the console, declares, withdraws, re-declares, proves the
//!   declaration (the claim file is then verified here with `claim verify`) and checks their
//!   receipts; screenshots of each page in English and Chinese go to `target/screenshots/app/`.
//!   Without node, Chromium or `npm ci` in `browser-tests/` it says so and passes, unless
//!   `HEADCOUNT_BROWSER_REQUIRED=1` (CI), where it fails.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, ISSUE_OFFSET, Server, field, issuing_command, now, register_registrar};
use headcount_registrar::{CredentialRequest, client as reg_client};

/// Child processes killed and reaped when dropped (panics included).
#[derive(Default)]
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Spawns `cmd` with its output in `log`; waits for a line with each marker and returns the
/// text after each.
fn spawn_and_wait(
    children: &mut Children,
    mut cmd: Command,
    log: &Path,
    markers: &[&str],
) -> (usize, Vec<String>) {
    let f = fs::File::create(log).unwrap();
    let child = cmd
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn headcount");
    children.0.push(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = Vec::new();
    for m in markers {
        loop {
            let t = fs::read_to_string(log).unwrap_or_default();
            if let Some(l) = t.lines().find(|l| l.contains(m)) {
                found.push(l[l.find(m).unwrap() + m.len()..].trim().to_owned());
                break;
            }
            assert!(Instant::now() < deadline, "no {m:?} in:\n{t}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    (children.0.len() - 1, found)
}

fn app_command(server: &str, wallet: &Path, extra: &[&str]) -> Command {
    let mut c = issuing_command(&[
        "app",
        "--server",
        server,
        "--wallet",
        wallet.to_str().unwrap(),
        "--no-open",
        "--insecure-fast-kdf",
    ]);
    c.args(extra);
    c
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// (status, headers, body)
async fn send(r: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let r = r.send().await.unwrap();
    let (s, h) = (r.status().as_u16(), r.headers().clone());
    (s, h, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_refuses_what_is_not_its_own_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 50);
    let wallet = dir.path().join("w.wallet");
    let mut children = Children::default();
    let (_, found) = spawn_and_wait(
        &mut children,
        app_command(&server.url, &wallet, &[]),
        &dir.path().join("app.log"),
        &["headcount app: open "],
    );
    let url = &found[0];
    let (base, secret) = url.split_once("/?k=").unwrap();
    let host = base.strip_prefix("http://").unwrap();
    assert!(host.starts_with("127.0.0.1:") && secret.len() == 64);
    let h = http();

    // No session: refused, with what to do.
    let (s, hd, body) = send(h.get(format!("{base}/"))).await;
    assert_eq!(s, 403);
    assert!(body.contains("full address it printed"), "{body}");
    assert!(
        hd["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    // A wrong secret: refused, no cookie.
    let (s, hd, body) = send(h.get(format!("{base}/?k={}", "0".repeat(64)))).await;
    assert_eq!(s, 403);
    assert!(hd.get("set-cookie").is_none());
    assert!(body.contains("not this app"), "{body}");
    // The right secret under a rebound name (or any other Host): refused, no cookie.
    for bad in ["evil.example", "localhost", "127.0.0.1:1"] {
        let bad_host = if bad == "localhost" {
            host.replace("127.0.0.1", "localhost")
        } else {
            bad.to_owned()
        };
        let (s, hd, body) = send(h.get(url).header("host", bad_host.as_str())).await;
        assert_eq!(s, 403, "{bad_host}");
        assert!(hd.get("set-cookie").is_none());
        assert!(body.contains("only at the address it printed"), "{body}");
    }
    // The right secret: a session cookie and a redirect that drops the secret from the URL.
    let (s, hd, _) = send(h.get(url)).await;
    assert_eq!((s, hd["location"].to_str().unwrap()), (303, "/"));
    let cookie = hd["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains(secret),
        "the session is not the URL secret"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let (s, hd, page) = send(h.get(format!("{base}/")).header("cookie", &cookie)).await;
    assert_eq!(s, 200);
    let csp = hd["content-security-policy"].to_str().unwrap();
    assert!(
        !csp.contains("script-src") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(hd["referrer-policy"], "same-origin");
    assert!(!page.contains("<script"));
    assert!(page.contains("Create your wallet"), "{page}");
    let i = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[i..i + 64].to_owned();

    let create = |origin: Option<&str>, csrf: &str, pass: &str, again: &str| {
        let mut r = h
            .post(format!("{base}/wallet/create"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf), ("passphrase", pass), ("again", again)]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r
    };
    let strong = "orbit lantern mosquito gravel saffron";
    // No Origin, a foreign Origin, no CSRF token, a wrong one: 403, no wallet.
    for (origin, token, expect) in [
        (None, csrf.as_str(), "another page or site"),
        (
            Some("http://evil.example"),
            csrf.as_str(),
            "another page or site",
        ),
        (Some(base), "", "out of date"),
        (Some(base), &"1".repeat(64)[..], "out of date"),
    ] {
        let (s, _, body) = send(create(origin, token, strong, strong)).await;
        assert_eq!(s, 403, "{origin:?} {token}");
        assert!(body.contains(expect), "{body}");
        assert!(!wallet.exists());
    }
    // Passphrases that differ, then a weak one: a sentence on the page, no wallet.
    let (s, _, _) = send(create(Some(base), &csrf, strong, "orbit lantern")).await;
    assert_eq!(s, 303);
    let (_, _, page) = send(h.get(format!("{base}/")).header("cookie", &cookie)).await;
    assert!(page.contains("The two passphrases differ"), "{page}");
    // (The notice is in the language of the browser that sent the form.)
    send(create(Some(base), &csrf, "password1", "password1").header("accept-language", "zh-CN,zh"))
        .await;
    let (_, _, page) = send(
        h.get(format!("{base}/"))
            .header("cookie", &cookie)
            .header("accept-language", "zh-CN,zh"),
    )
    .await;
    assert!(page.contains("此密码短语太容易被猜到"), "{page}");
    assert!(page.contains("密码短语强度"), "{page}");
    assert!(!wallet.exists());
    // A strong one: created.
    send(create(Some(base), &csrf, strong, strong)).await;
    assert!(wallet.exists());
    let (_, _, page) = send(h.get(format!("{base}/")).header("cookie", &cookie)).await;
    assert!(page.contains("Your wallet is created"), "{page}");

    // Lock; a wrong passphrase says so, in both languages.
    let post = |path: &str, form: &[(&str, &str)]| {
        h.post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("origin", base)
            .form(form)
    };
    send(post("/wallet/lock", &[("csrf", &csrf)])).await;
    send(post(
        "/wallet/unlock",
        &[
            ("csrf", &csrf),
            ("passphrase", "orbit lantern mosquito gravel"),
        ],
    ))
    .await;
    let (_, _, page) = send(h.get(format!("{base}/")).header("cookie", &cookie)).await;
    assert!(page.contains("Wrong passphrase"), "{page}");
    assert!(page.contains("Unlock your wallet"), "{page}");
    send(post(
        "/wallet/unlock",
        &[("csrf", &csrf), ("passphrase", strong)],
    ))
    .await;

    // A registrar address that is not on this machine, without Tor: nothing saved or sent.
    let before = fs::read(&wallet).unwrap();
    send(post(
        "/credential/request",
        &[
            ("csrf", &csrf),
            ("registrar", &"ab".repeat(32)),
            ("registrar_url", "http://registrar.example.org"),
        ],
    ))
    .await;
    let (_, _, page) = send(
        h.get(format!("{base}/credential"))
            .header("cookie", &cookie),
    )
    .await;
    assert!(page.contains("no Tor proxy is set"), "{page}");
    assert_eq!(
        fs::read(&wallet).unwrap(),
        before,
        "the wallet did not change"
    );

    // The app itself refuses to start for a remote log without Tor, and a non-loopback listener.
    let o = app_command("http://log.example.org", &wallet, &[])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("Connect through Tor"),
        "{err}"
    );
    let o = app_command(&server.url, &wallet, &["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("loopback"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The browser walk.

fn chromium() -> PathBuf {
    std::env::var_os("HEADCOUNT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn missing_prerequisite(suite: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !chromium().exists() {
        return Some(format!("{} does not exist", chromium().display()));
    }
    if !suite.join("node_modules/playwright-core").exists() {
        return Some(format!("run `npm ci` in {}", suite.display()));
    }
    None
}

fn ok(args: &[&str]) -> String {
    let o = issuing_command(args).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "headcount {args:?} failed:\n{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Starts `registrar serve` on `state` (issuing 40 days back when `offset`), its console
/// linked to the log; (child index, public URL, admin URL, admin token).
fn registrar_service(
    children: &mut Children,
    dir: &Path,
    log_url: &str,
    offset: bool,
    name: &str,
) -> (usize, String, String, String) {
    let p = |s: &str| dir.join(s).to_str().unwrap().to_owned();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "registrar",
        "serve",
        "--key",
        &p("keys/registrar.key"),
        "--state",
        &p("rstate"),
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--server",
        log_url,
    ])
    .env_remove("HEADCOUNT_LOG");
    if offset {
        cmd.env("HEADCOUNT_CLOCK_OFFSET", ISSUE_OFFSET.to_string());
    } else {
        cmd.env_remove("HEADCOUNT_CLOCK_OFFSET");
    }
    let (i, f) = spawn_and_wait(
        children,
        cmd,
        &dir.join(format!("{name}.log")),
        &[
            "public API listening on ",
            "admin API listening on ",
            "admin token in ",
            "console: ",
        ],
    );
    assert!(
        f[3].starts_with(&format!("{}/console/", f[1])),
        "registrar serve prints its console's address: {}",
        f[3]
    );
    let token = fs::read_to_string(&f[2]).unwrap().trim().to_owned();
    (i, f[0].clone(), f[1].clone(), token)
}

fn run_node(suite: &Path, file: &str, fixture: &Path, shots: &Path) {
    let status = Command::new("node")
        .args(["--test", "--test-reporter=spec", file])
        .current_dir(suite)
        .env("HEADCOUNT_FIXTURE", fixture)
        .env("HEADCOUNT_SCREENSHOTS", shots)
        .env("HEADCOUNT_CHROMIUM", chromium())
        .status()
        .expect("running node");
    assert!(
        status.success(),
        "the browser suite {file} failed: {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_walks_every_flow() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let suite = crate_dir.join("browser-tests");
    if let Some(why) = missing_prerequisite(&suite) {
        if std::env::var("HEADCOUNT_BROWSER_REQUIRED").as_deref() == Ok("1") {
            panic!("the browser suite cannot run: {why}");
        }
        eprintln!("SKIPPED: the app's browser suite: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p = |s: &str| dir.join(s).to_str().unwrap().to_owned();
    let server = Server::start(dir, 50);
    let url = server.url.clone();
    let rid = register_registrar(dir, &url);

    // A bilingual campaign that accepts the registrar.
    ok(&["keygen", "organiser", "--out", &p("keys")]);
    fs::write(
        dir.join("campaign.toml"),
        format!(
            "opens_at = \"{}\"\ncloses_at = \"{}\"\nregistrars = [\"{rid}\"]\naddressees = [\"UNHCR\", \"联合国难民署\"]\n\n\
             [[text]]\nlang = \"en\"\ntitle = \"Renounce\"\nstatement = \"I renounce my membership of the Party. Count me.\"\n\n\
             [[text]]\nlang = \"zh\"\ntitle = \"退党声明\"\nstatement = \"我声明退出该党。请把我算上。\"\n",
            now() - 60,
            now() + 30 * 86_400
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
    // A second campaign that accepts only another registrar: declaring there is refused with
    // a sentence.
    fs::create_dir_all(dir.join("r2")).unwrap();
    let rid2 = register_registrar(&dir.join("r2"), &url);
    fs::write(
        dir.join("campaign2.toml"),
        format!(
            "opens_at = \"{}\"\ncloses_at = \"{}\"\nregistrars = [\"{rid2}\"]\n\n\
             [[text]]\nlang = \"en\"\ntitle = \"Appeal\"\nstatement = \"Do not deport him.\"\n",
            now() - 60,
            now() + 30 * 86_400
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
        &p("campaign2.toml"),
    ]);
    let campaign2 = field(&out, "campaign id:");

    let mut children = Children::default();
    let (reg_i, public, admin, token) =
        registrar_service(&mut children, dir, &url, true, "registrar1");
    // 99 other people get credentials the same month (the minimum anonymity set is 100).
    let h = reqwest::Client::new();
    let api = reg_client::AdminApi {
        url: admin.clone(),
        token: headcount_registrar::http::AdminToken::from_secret(token.clone()),
    };
    let rid_parsed = headcount_core::RegistrarId::from_hex(&rid).unwrap();
    for _ in 0..99 {
        let nym = headcount_credentials::NymSecret::generate(&mut rand::rngs::OsRng);
        let (req, _) =
            headcount_credentials::request_credential(&nym, &mut rand::rngs::OsRng).unwrap();
        let doc = CredentialRequest::new(rid_parsed, None, req);
        let id = reg_client::submit_request(&h, &public, &doc).await.unwrap();
        reg_client::admin_approve(&h, &api, &id).await.unwrap();
    }

    let (_, found) = spawn_and_wait(
        &mut children,
        app_command(
            &url,
            &dir.join("person.wallet"),
            &["--registrar-url", &public],
        ),
        &dir.join("app.log"),
        &["headcount app: open "],
    );
    let app_url = found[0].clone();
    let shots = crate_dir.join("../../target/screenshots/app");
    fs::create_dir_all(&shots).unwrap();
    let fixture = dir.join("fixture.json");
    let write_fixture = |admin: &str, token: &str| {
        fs::write(
            &fixture,
            serde_json::json!({
                "app": app_url,
                "console": admin,
                "token": token,
                "campaign": campaign,
                "campaign2": campaign2,
                "registrar": rid,
                "registrarUrl": public,
                "wallet": p("person.wallet"),
            })
            .to_string(),
        )
        .unwrap();
    };
    write_fixture(&admin, &token);
    let suite2 = suite.clone();
    let (f2, s2) = (fixture.clone(), shots.clone());
    tokio::task::spawn_blocking(move || run_node(&suite2, "1-credential.test.mjs", &f2, &s2))
        .await
        .unwrap();

    // The month is over on the real clock: the registrar restarts without the offset, and
    // the person's month (100 credentials) can be closed and logged from the console.
    {
        let c = &mut children.0[reg_i];
        let _ = c.kill();
        let _ = c.wait();
    }
    let (_, _, admin2, token2) = registrar_service(&mut children, dir, &url, false, "registrar2");
    write_fixture(&admin2, &token2);
    let (f2, s2) = (fixture.clone(), shots.clone());
    tokio::task::spawn_blocking(move || run_node(&suite, "2-declare.test.mjs", &f2, &s2))
        .await
        .unwrap();

    // The claim file the browser downloaded verifies offline against the log key.
    let claim = shots.join("declaration.claim");
    let challenge = fs::read_to_string(shots.join("challenge.txt")).unwrap();
    let vkey = server.vkey();
    let out = ok(&[
        "claim",
        "verify",
        claim.to_str().unwrap(),
        "--challenge",
        challenge.trim(),
        "--log-key",
        &vkey,
    ]);
    assert!(out.contains("VERIFIED") && out.contains(&campaign), "{out}");
    // The re-declaration's alias: the claim proves the latest declaration.
    assert!(out.contains("Harbour Light"), "{out}");
}
