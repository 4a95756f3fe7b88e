//! A throw-away PostgreSQL cluster for tests and benchmarks: `initdb` in a
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

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
