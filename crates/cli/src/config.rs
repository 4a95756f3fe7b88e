//! The server's configuration file. The doc comments are the reference.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// `headcount serve --config FILE`: every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The log's origin: the first line of its checkpoints and its key name,
    /// conventionally a URL without scheme (`example.org/headcount`).
    /// Default: `headcount.local/log`. Only used when generating a new key.
    pub origin: Option<String>,
    /// Path of the log's signed-note private key. Relative paths are relative
    /// to the data directory. Default: `<data>/log.skey`, generated on first start.
    pub log_key: Option<PathBuf>,
    /// Milliseconds the first submission of a round waits for others (default 1000).
    pub batch_interval_ms: Option<u64>,
    /// A round starts as soon as this many submissions wait (default 4096).
    pub max_batch: Option<usize>,
    /// Submissions beyond this many waiting get 503 + Retry-After (default 65536).
    pub pool_capacity: Option<usize>,
    /// A C2SP tlog-policy file naming the witnesses (with their URLs) and the
    /// quorum. With it, every checkpoint is sent to the witnesses and receipts
    /// carry their cosignatures. Relative to the data directory if relative.
    pub policy_file: Option<PathBuf>,
    /// Milliseconds to wait for each witness (default 5000).
    pub witness_timeout_ms: Option<u64>,
    /// Auditors whose signed attestations the log accepts and publishes:
    /// their signed-note verifier keys (`name+id+base64`).
    #[serde(default)]
    pub auditors: Vec<String>,
}

impl ServerConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let c: ServerConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if c.batch_interval_ms == Some(0) || c.batch_interval_ms.is_some_and(|m| m > 60_000) {
            bail!("batch_interval_ms must be between 1 and 60000");
        }
        if c.max_batch == Some(0) || c.pool_capacity == Some(0) {
            bail!("max_batch and pool_capacity must be positive");
        }
        Ok(c)
    }

    /// The witness policy, if configured.
    pub fn witnessing(&self, data: &Path) -> Result<Option<headcount_server::WitnessingOptions>> {
        let Some(p) = &self.policy_file else {
            return Ok(None);
        };
        let p = if p.is_relative() {
            data.join(p)
        } else {
            p.clone()
        };
        let text = std::fs::read_to_string(&p)
            .with_context(|| format!("reading the policy {}", p.display()))?;
        let policy = headcount_cosignature::Policy::parse(&text)
            .with_context(|| format!("parsing the policy {}", p.display()))?;
        Ok(Some(headcount_server::WitnessingOptions {
            policy,
            timeout: Duration::from_millis(self.witness_timeout_ms.unwrap_or(5000)),
        }))
    }

    pub fn sequencer(&self) -> headcount_server::SequencerOptions {
        let d = headcount_server::SequencerOptions::default();
        headcount_server::SequencerOptions {
            batch_interval: self
                .batch_interval_ms
                .map(Duration::from_millis)
                .unwrap_or(d.batch_interval),
            max_batch: self.max_batch.unwrap_or(d.max_batch),
            pool_capacity: self.pool_capacity.unwrap_or(d.pool_capacity),
            ..d
        }
    }
}
