//! Real services for tests and benchmarks, started on loopback: a
//! throw-away PostgreSQL cluster: `initdb` in a
//! temporary directory, `pg_ctl start` on a free loopback port, stopped
//! (immediately) when dropped. As root, the server runs as the `postgres`
//! user (`initdb` refuses root). Nothing is mocked: it is Debian's server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set to `1` (CI does) to make tests fail, rather than skip, when
/// PostgreSQL or the S3 server is missing.
pub const REQUIRED_VAR: &str = "HEADCOUNT_SCALEOUT_REQUIRED";

/// Skips a test that needs a missing service, or fails it under [`REQUIRED_VAR`].
pub fn skip_or_fail(what: &str) {
    if std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "1") {
        panic!("{what}, and {REQUIRED_VAR}=1 requires it");
    }
    eprintln!("SKIPPED: {what} (install it, or set {REQUIRED_VAR}=1 to make this a failure)");
}

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    candidates.sort();
    candidates.reverse();
    candidates.push(PathBuf::from("/usr/local/bin"));
    candidates.push(PathBuf::from("/usr/bin"));
    candidates
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    /// Creates and starts a cluster; `Ok(None)` when PostgreSQL is not installed.
    pub fn start() -> Result<Option<Cluster>, String> {
        let Some(bin) = find_bin() else {
            return Ok(None);
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("headcount-pg")
            .tempdir()
            .map_err(|e| e.to_string())?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .map_err(|e| e.to_string())?;
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port().map_err(|e| e.to_string())?,
            as_postgres,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-A",
                "trust",
                "-U",
                "headcount",
                "--no-sync",
            ],
        )?;
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.port,
            path_str(cluster.dir.path())?
        );
        let log = cluster.dir.path().join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-w",
                "-o",
                &opts,
                "start",
            ],
        )?;
        Ok(Some(cluster))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The connection URL (user `headcount`, database `postgres`).
    pub fn url(&self) -> String {
        format!("postgres://headcount@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash would (`pg_ctl -m immediate`).
    pub fn kill(&self) -> Result<(), String> {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &["-D", path_str(&data)?, "-m", "immediate", "stop"],
        )
    }

    /// Starts it again after [`Cluster::kill`] (crash recovery runs).
    pub fn restart(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            path_str(self.dir.path())?
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-w",
                "-o",
                &opts,
                "start",
            ],
        )
    }
}

/// A real S3-protocol server (`s3s-fs`, from the Rust package registry) on a
/// free loopback port, serving a temporary directory; killed when dropped.
pub struct S3Server {
    child: std::process::Child,
    pub location: crate::s3::S3Location,
    root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/s3s-fs"));
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("s3s-fs"))
        .chain(home)
        .find(|p| p.is_file())
}

impl S3Server {
    /// Starts one with `bucket` (prefix `logs/one`); `Ok(None)` when `s3s-fs` is not installed.
    pub fn start(bucket: &str) -> Result<Option<S3Server>, String> {
        let Some(bin) = s3s_fs() else {
            return Ok(None);
        };
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir(root.path().join(bucket)).map_err(|e| e.to_string())?;
        let port = free_port().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "test-key", "--secret-key", "test-secret"])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("s3s-fs: {e}"))?;
        let server = S3Server {
            child,
            location: crate::s3::S3Location {
                endpoint: Some(format!("http://127.0.0.1:{port}")),
                region: "us-east-1".into(),
                bucket: bucket.into(),
                prefix: "logs/one".into(),
                access_key_id: "test-key".into(),
                secret_access_key: "test-secret".into(),
            },
            root,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                return Err("s3s-fs did not listen within 10 s".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(Some(server))
    }

    /// The directory it serves (buckets are its subdirectories).
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
