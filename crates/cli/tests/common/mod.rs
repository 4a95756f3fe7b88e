//! Helpers for the end-to-end tests: the real `headcount` binary as child
//! processes, a server guard that never leaks a process, polling helpers.

#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_headcount");

/// Now in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Credentials in these tests are issued this many seconds in the past (40 days), so that
/// their month is over and can be logged now (`HEADCOUNT_CLOCK_OFFSET`, honoured only by the
/// registrar's ledger and the wallet's month check).
pub const ISSUE_OFFSET: i64 = -40 * 86_400;

/// `headcount ARGS…` as a declarant's or registrar's process: no log filter, no standard
/// input, no proxy variables from the environment, and issuance 40 days in the past — except
/// `close-period`, which runs on the real clock (the month must be over).
pub fn issuing_command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("HEADCOUNT_LOG")
        .stdin(Stdio::null());
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ] {
        c.env_remove(v);
    }
    if args.get(1) != Some(&"close-period") {
        c.env("HEADCOUNT_CLOCK_OFFSET", ISSUE_OFFSET.to_string());
    }
    c
}

/// The value after `prefix` on the first line of `out` that has it.
pub fn field(out: &str, prefix: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{out}"))
        .trim()
        .to_owned()
}

/// Makes registrar keys in `dir/keys` (`registrar.key`, and the `.id` file) and registers
/// registrar "R" with the log at `url`; returns its id.
pub fn register_registrar(dir: &Path, url: &str) -> String {
    let keys = dir.join("keys");
    let key = keys.join("registrar.key");
    let policy = dir.join("rpolicy.txt");
    std::fs::write(&policy, "We meet every applicant.\n").unwrap();
    let run = |args: &[&str]| -> String {
        let o = issuing_command(args)
            .output()
            .expect("the headcount binary runs");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "headcount {args:?} failed:\n{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    run(&["keygen", "registrar", "--out", keys.to_str().unwrap()]);
    let out = run(&[
        "registrar",
        "register",
        "--server",
        url,
        "--key",
        key.to_str().unwrap(),
        "--name",
        "R",
        "--policy-file",
        policy.to_str().unwrap(),
    ]);
    field(&out, "registrar id:")
}

/// Runs `headcount ARGS…` to completion.
pub fn headcount(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("HEADCOUNT_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the headcount binary runs")
}

/// Runs `headcount ARGS…` and insists on success; returns stdout.
pub fn headcount_ok(args: &[&str]) -> (String, String) {
    let out = headcount(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "headcount {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// A port that was free a moment ago (the caller retries if it is taken).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

/// A `headcount serve` child process. Dropping it kills and reaps the
/// process, so no server outlives its test, panics included.
pub struct Server {
    pub data: PathBuf,
    pub config: PathBuf,
    pub log_file: PathBuf,
    pub url: String,
    child: Option<Child>,
    /// How many times the process was started.
    pub starts: u32,
}

/// Polls `f` every 10 ms until it returns `Some`, or panics after `timeout`.
pub fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A blocking GET over a fresh TCP connection (HTTP/1.0-style, Connection:
/// close): enough for readiness probes without an async runtime.
pub fn probe(url: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://")?;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf[head_end + 4..].to_vec()))
}

impl Server {
    /// Writes a config with `batch_interval_ms` and starts a server on `data`
    /// (with the default admission policy).
    pub fn start(dir: &Path, batch_interval_ms: u64) -> Server {
        Self::start_with(dir, batch_interval_ms, "")
    }

    /// [`Server::start`] with `extra` appended to the config file.
    pub fn start_with(dir: &Path, batch_interval_ms: u64, extra: &str) -> Server {
        let data = dir.join("data");
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!(
                "batch_interval_ms = {batch_interval_ms}\norigin = \"headcount.local/log\"\n{extra}"
            ),
        )
        .unwrap();
        let mut s = Server {
            data,
            config,
            log_file: dir.join("server.log"),
            url: String::new(),
            child: None,
            starts: 0,
        };
        s.restart();
        s
    }

    /// Starts the process (again) on the same data directory and waits until
    /// `/v1/log` answers. Tries the previous port first, then fresh ones.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let mut port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(free_port);
        for attempt in 0..8 {
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_file)
                .unwrap();
            let child = Command::new(BIN)
                .arg("serve")
                .arg("--data")
                .arg(&self.data)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--config")
                .arg(&self.config)
                .env("HEADCOUNT_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn headcount serve");
            self.child = Some(child);
            self.starts += 1;
            self.url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some((200, _)) = probe(&self.url, "/v1/log") {
                    return;
                }
                if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    // Most likely the port was taken meanwhile: try another.
                    self.child = None;
                    eprintln!("server exited at start ({status}), attempt {attempt}");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "server did not answer in 30 s; log:\n{}",
                    self.log_tail()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            port = free_port();
        }
        panic!("the server would not start; log:\n{}", self.log_tail());
    }

    /// SIGKILLs the process (Child::kill is SIGKILL on Unix) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        }
    }

    /// The log's public key, as the server wrote it on first start.
    pub fn vkey(&self) -> String {
        std::fs::read_to_string(self.data.join("log.vkey"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// The last lines of the server's output (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Opens a file for reading its mode.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    File::open(path)
        .unwrap()
        .metadata()
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}
