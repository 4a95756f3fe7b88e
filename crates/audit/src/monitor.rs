//! Monitor mode: follow a log round after round, verifying only what is new.
//!
//! A [`Monitor`] keeps, in memory, the tree and the folded state of the last
//! checkpoint it verified, so each round fetches only the tiles that changed
//! and folds only the new leaves. On disk, in its state directory:
//!
//! ```text
//! DIR/log.vkey                     the log key (pinned at the first round)
//! DIR/checkpoint                   the last verified checkpoint (fsynced, atomic)
//! DIR/checkpoints/<size>.note      every checkpoint verified, by size
//! DIR/tiles/<origin>/tile/...      full tiles and bundles (immutable cache)
//! DIR/alarms/<unix>-<code>.txt     each alarm: message and signed evidence
//! ```
//!
//! After a restart the first round refolds from the cached tiles (no
//! refetch of full tiles) and checks that the log extends `DIR/checkpoint`.
//! A round that finds something wrong does not advance `DIR/checkpoint`, so
//! the alarm persists across restarts until a person looks.

use std::path::{Path, PathBuf};

use headcount_core::{CredentialVerifier, LogState};
use headcount_tlog::{Checkpoint, LogVerifier};

use crate::fetch::FetchedTiles;
use crate::{AuditError, AuditOptions, AuditReport, Finding, Prior, Published, Verdict, run};

/// What to follow, and where to keep state.
#[derive(Clone, Debug)]
pub struct MonitorOptions {
    /// The audit to repeat (its `cache_dir` is replaced by `state_dir/tiles`).
    pub audit: AuditOptions,
    /// The state directory (created if missing).
    pub state_dir: PathBuf,
    /// A shell command (`sh -c`) run on each alarm, with the finding in its
    /// environment (see [`alarm_env`]).
    pub alarm_command: Option<String>,
}

/// A log monitor. See the module docs.
pub struct Monitor {
    opts: MonitorOptions,
    last: Option<(Checkpoint, Vec<u8>)>,
    tiles: Option<FetchedTiles>,
    state: Option<LogState>,
    published: Option<Published>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("state_dir", &self.opts.state_dir)
            .field("last", &self.last.as_ref().map(|(c, _)| c.size.0))
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |e| AuditError::Cache {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Writes `data` to `path` durably (`headcount_storage::durable::write_atomic`:
/// temporary file, fsync, rename, fsync of the directory).
fn write_durable(path: &Path, data: &[u8]) -> Result<(), AuditError> {
    headcount_storage::durable::write_atomic(path, data).map_err(io(path))
}

/// The environment an alarm command gets:
///
/// * `HEADCOUNT_ALARM_CODE`: the finding's stable code (`fork`, `rollback`, …);
/// * `HEADCOUNT_ALARM_MESSAGE`: the finding, in words;
/// * `HEADCOUNT_ALARM_URL`: the log followed;
/// * `HEADCOUNT_ALARM_TREE_SIZE`: the offending checkpoint's size (or empty);
/// * `HEADCOUNT_ALARM_CHECKPOINT`: the offending checkpoint note as served;
/// * `HEADCOUNT_ALARM_EVIDENCE`: the path of the alarm file (message and
///   every signed note that proves it).
pub fn alarm_env(report: &AuditReport, f: &Finding, evidence: &Path) -> Vec<(String, String)> {
    vec![
        ("HEADCOUNT_ALARM_CODE".into(), f.code().into()),
        ("HEADCOUNT_ALARM_MESSAGE".into(), f.to_string()),
        ("HEADCOUNT_ALARM_URL".into(), report.url.clone()),
        (
            "HEADCOUNT_ALARM_TREE_SIZE".into(),
            f.tree_size()
                .or(report.checkpoint.as_ref().map(|c| c.size.0))
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
        (
            "HEADCOUNT_ALARM_CHECKPOINT".into(),
            String::from_utf8_lossy(&report.note).into_owned(),
        ),
        (
            "HEADCOUNT_ALARM_EVIDENCE".into(),
            evidence.display().to_string(),
        ),
    ]
}

impl Monitor {
    /// Opens (creating) the state directory and reads the last verified
    /// checkpoint. A state directory pinned to another log key is an error.
    pub fn open(mut opts: MonitorOptions) -> Result<Monitor, AuditError> {
        let dir = opts.state_dir.clone();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let key_path = dir.join("log.vkey");
        let pinned = std::fs::read_to_string(&key_path)
            .ok()
            .map(|k| k.trim().to_owned());
        match (&opts.audit.log_key, &pinned) {
            (Some(given), Some(p)) if given.trim() != p => {
                return Err(AuditError::BadLogKey(format!(
                    "{} follows the log key {p}, not {}",
                    dir.display(),
                    given.trim()
                )));
            }
            (None, Some(p)) => opts.audit.log_key = Some(p.clone()),
            _ => {}
        }
        opts.audit.cache_dir = Some(dir.join("tiles"));
        let mut last = None;
        if let Some(key) = &opts.audit.log_key {
            let v =
                LogVerifier::from_vkey(key).map_err(|e| AuditError::BadLogKey(e.to_string()))?;
            let path = dir.join("checkpoint");
            if let Ok(note) = std::fs::read(&path) {
                let cp = v.verify(&note).map_err(|e| AuditError::Cache {
                    path: path.clone(),
                    message: format!("not a checkpoint of this log: {e}"),
                })?;
                last = Some((cp, note));
            }
        }
        Ok(Monitor {
            opts,
            last,
            tiles: None,
            state: None,
            published: None,
        })
    }

    /// The last checkpoint verified (this run or an earlier one).
    pub fn last_verified(&self) -> Option<&Checkpoint> {
        self.last.as_ref().map(|(c, _)| c)
    }

    /// The options in force (with the pinned key and the tile cache).
    pub fn options(&self) -> &MonitorOptions {
        &self.opts
    }

    /// Points the monitor at another URL serving the same log (a mirror, or
    /// the same operator seen another way); the next round must extend the
    /// last verified checkpoint all the same.
    pub fn set_url(&mut self, url: impl Into<String>) {
        self.opts.audit.url = url.into();
    }

    /// One round: audit what is new since the last verified checkpoint.
    /// When the verdict agrees the checkpoint is recorded; otherwise an
    /// alarm file is written and the alarm command run, and the last
    /// verified checkpoint stays as it was.
    pub async fn round(
        &mut self,
        credentials: &(dyn CredentialVerifier + Send + Sync),
    ) -> Result<AuditReport, AuditError> {
        let prior = Prior {
            checkpoint: self.last.clone(),
            tiles: self.tiles.take(),
            state: self.state.take(),
            published: self.published.take(),
        };
        let out = run(&self.opts.audit, credentials, prior, false).await?;
        let dir = &self.opts.state_dir;
        if self.opts.audit.log_key.is_none() {
            // Trust on first use, once: pinned from now on.
            write_durable(&dir.join("log.vkey"), out.report.log_key.as_bytes())?;
            self.opts.audit.log_key = Some(out.report.log_key.clone());
        }
        match &out.report.verdict {
            Verdict::Agrees => {
                if let Some(cp) = &out.report.checkpoint {
                    let changed = self.last.as_ref().is_none_or(|(l, _)| l != cp);
                    if changed {
                        write_durable(
                            &dir.join("checkpoints").join(format!("{}.note", cp.size.0)),
                            &out.note,
                        )?;
                    }
                    write_durable(&dir.join("checkpoint"), &out.note)?;
                    self.last = Some((cp.clone(), out.note.clone()));
                    self.tiles = Some(out.tiles);
                    self.state = out.state;
                    self.published = Some(out.published);
                }
            }
            Verdict::Differs(f) => {
                let path = self.record_alarm(&out.report, f)?;
                self.run_alarm_command(&out.report, f, &path).await;
            }
        }
        Ok(out.report)
    }

    fn record_alarm(&self, report: &AuditReport, f: &Finding) -> Result<PathBuf, AuditError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let alarms = self.opts.state_dir.join("alarms");
        let mut path = alarms.join(format!("{now}-{}.txt", f.code()));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = alarms.join(format!("{now}-{}-{n}.txt", f.code()));
        }
        let mut text = format!("ALARM {}\nlog {}\n{f}\n", f.code(), report.url,);
        if let Some((last, _)) = &self.last {
            text.push_str(&format!("last verified size {}\n", last.size.0));
        }
        for (label, note) in f.evidence() {
            text.push_str(&format!(
                "\n-- {label} --\n{}",
                String::from_utf8_lossy(note)
            ));
        }
        if f.evidence().is_empty() {
            text.push_str(&format!(
                "\n-- checkpoint --\n{}",
                String::from_utf8_lossy(&report.note)
            ));
        }
        write_durable(&path, text.as_bytes())?;
        Ok(path)
    }

    async fn run_alarm_command(&self, report: &AuditReport, f: &Finding, evidence: &Path) {
        let Some(cmd) = self.opts.alarm_command.clone() else {
            return;
        };
        let env = alarm_env(report, f, evidence);
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .envs(env)
                .status()
        })
        .await;
        match status {
            Ok(Ok(s)) if s.success() => {}
            Ok(Ok(s)) => eprintln!("the alarm command exited with {s}"),
            Ok(Err(e)) => eprintln!("the alarm command could not run: {e}"),
            Err(e) => eprintln!("the alarm command could not run: {e}"),
        }
    }
}
