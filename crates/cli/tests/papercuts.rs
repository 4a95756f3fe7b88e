//! What a new operator or declarant trips over, through the real binary: a
//! missing wallet, no terminal, a server URL without a scheme or not
//! listening, a campaign spec with Unix seconds, a dry run, flags that
//! cannot go together. Each says what to do, in words, without a backtrace.

mod common;

use std::process::{Command, Stdio};

use common::{free_port, headcount, headcount_ok};

fn run_with_backtrace(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_headcount"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn no_backtrace(stderr: &str) {
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(!stderr.contains("Caused by"), "{stderr}");
}

#[test]
fn a_missing_wallet_is_named_before_any_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.wallet");
    let (ok, _, err) =
        run_with_backtrace(&["identity", "show", "--wallet", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains(&format!("no wallet at {}", path.display())),
        "{err}"
    );
    assert!(err.contains("headcount identity new"), "{err}");
    assert!(!err.contains("Passphrase"), "{err}");
    no_backtrace(&err);
    assert!(!path.exists());
}

#[test]
fn without_a_terminal_the_passphrase_file_is_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("me.wallet");
    let out = Command::new(env!("CARGO_BIN_EXE_headcount"))
        .args(["identity", "new", "--wallet", path.to_str().unwrap()])
        .stdin(Stdio::null())
        // No controlling terminal: the child runs in a new session.
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if std::fs::File::open("/dev/tty").is_ok() {
        eprintln!("SKIPPED: this test runs with a terminal");
        return;
    }
    assert!(!out.status.success());
    assert!(err.contains("--passphrase-file"), "{err}");
    no_backtrace(&err);
    assert!(!path.exists(), "nothing created");
}

#[test]
fn network_errors_say_what_was_tried_and_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple fine\n").unwrap();
    let wallet = dir.path().join("me.wallet");
    headcount_ok(&[
        "identity",
        "new",
        "--wallet",
        wallet.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
        "--insecure-fast-kdf",
    ]);
    let campaign = "00".repeat(32);
    // No scheme.
    let (ok, _, err) = run_with_backtrace(&[
        "declare",
        &campaign,
        "--server",
        "127.0.0.1:8080",
        "--alias",
        "A",
        "--unverified",
    ]);
    assert!(!ok);
    assert!(err.contains("is not a server URL"), "{err}");
    assert!(err.contains("http://127.0.0.1:8080"), "{err}");
    assert!(!err.contains("relative URL without a base"), "{err}");
    no_backtrace(&err);
    // Nothing listening.
    let url = format!("http://127.0.0.1:{}", free_port());
    let (ok, _, err) = run_with_backtrace(&["campaign", "list", "--server", &url]);
    assert!(!ok);
    assert!(
        err.contains("could not connect to the log server at"),
        "{err}"
    );
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("check the --server URL"), "{err}");
    no_backtrace(&err);
}

#[test]
fn unverified_with_a_wallet_is_refused() {
    let out = headcount(&[
        "declare",
        &"00".repeat(32),
        "--server",
        "http://127.0.0.1:1",
        "--alias",
        "A",
        "--unverified",
        "--wallet",
        "me.wallet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--unverified") && err.contains("--wallet"),
        "{err}"
    );
}

#[test]
fn campaign_dry_run_takes_unix_seconds_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    headcount_ok(&[
        "keygen",
        "organiser",
        "--name",
        "org",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let spec = dir.path().join("campaign.toml");
    std::fs::write(
        &spec,
        "opens_at = 1780000000\ncloses_at = \"2027-01-01T00:00:00Z\"\n\n[[text]]\nlang = \"en\"\ntitle = \"Test\"\nstatement = \"A test.\"\n",
    )
    .unwrap();
    let key = dir.path().join("org.key");
    let (out, _) = headcount_ok(&[
        "campaign",
        "create",
        "--key",
        key.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(out.contains("campaign id: "), "{out}");
    assert!(
        out.contains("open 2026-05-28T20:26:40Z to 2027-01-01T00:00:00Z;"),
        "{out}"
    );
    assert!(out.contains("nothing was published"), "{out}");
    // The same spec twice gives the same id (the entry is deterministic).
    let (again, _) = headcount_ok(&[
        "campaign",
        "create",
        "--key",
        key.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out, again);
    // A bad time is refused with the spec named.
    std::fs::write(
        &spec,
        "opens_at = -5\ncloses_at = 1\n[[text]]\nlang = \"en\"\ntitle = \"T\"\nstatement = \"S\"\n",
    )
    .unwrap();
    let bad = headcount(&[
        "campaign",
        "create",
        "--key",
        key.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("campaign.toml"));
}

/// A mistyped confirmation asks again instead of ending the command. The passphrase is read
/// from a terminal, so the command runs under `script` (util-linux), which gives it one.
#[test]
fn a_mistyped_confirmation_is_asked_again() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("me.wallet");
    let cmd = format!(
        "{} identity new --wallet {} --insecure-fast-kdf",
        env!("CARGO_BIN_EXE_headcount"),
        wallet.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs the command on a terminal");
    let good = "lantern quarry velvet ostrich mango";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{good}\n{good}x\n{good}\n{good}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("The two passphrases differ; try again."),
        "{text}"
    );
    assert!(text.contains("created"), "{text}");
    assert!(wallet.is_file());
}
