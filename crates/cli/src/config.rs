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
    /// Privacy-first logs: a round starts no sooner than this many
    /// milliseconds after the previous one, even when `max_batch` entries
    /// wait, so each round mixes everything submitted over at least this
    /// long (default 0: no minimum). See docs/operations.md on latency and mixing.
    pub min_round_interval_ms: Option<u64>,
    /// With witnesses: publish cosigned checkpoints (and answer receipts)
    /// only at fixed times, every this many milliseconds (at whole multiples
    /// since the Unix epoch), not after each round. Default: after each round.
    pub checkpoint_interval_ms: Option<u64>,
    /// Keep every partial tile ever written (default false: a partial tile
    /// is deleted once its full tile and a checkpoint covering it are
    /// durable, as C2SP tlog-tiles allows; readers then use the full tile).
    /// Only for mirroring setups that need every path ever served to stay.
    #[serde(default)]
    pub keep_partial_tiles: bool,
    /// Auditors whose signed attestations the log accepts and publishes:
    /// their signed-note verifier keys (`name+id+base64`).
    #[serde(default)]
    pub auditors: Vec<String>,
    /// Who may publish registrar and campaign entries, and the work strangers
    /// pay (the `[admission]` table). The operator's policy, not a validity
    /// rule: auditors do not apply it.
    #[serde(default)]
    pub admission: AdmissionConfig,
    /// Where the log keeps its state (the `[storage]` table; default: the
    /// data directory: tiles, SQLite, a lock file).
    #[serde(default)]
    pub storage: StorageConfig,
    /// Also serve `GET /metrics` on the public listener (default false: the
    /// counters tell an observer when and how the log is used; scrape them
    /// through `metrics_listen` instead).
    #[serde(default)]
    pub public_metrics: bool,
    /// A separate address for `GET /metrics` only, e.g. `127.0.0.1:9090`
    /// (default: none).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `[admission]`: every field is optional.
///
/// ```toml
/// [admission]
/// registrars = ["<hex Ed25519 signing key>"]  # or "open" (the default)
/// organisers = "open"                         # or a list of organiser keys
/// publish_work_bits = 16                      # work an open publisher attaches
/// min_unverified_difficulty = 16              # least work on an unverified declaration
/// busy_work_bits = 16                         # work on a declaration while proofs queue up
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Who may log `registrar` entries: `"open"` (anyone, with
    /// `publish_work_bits` of admission work) or a list of the registrars'
    /// Ed25519 signing keys, hex. Default `"open"`.
    pub registrars: Option<PublishersConfig>,
    /// Who may log `campaign` entries: `"open"` or a list of organiser keys
    /// (hex). Default `"open"`.
    pub organisers: Option<PublishersConfig>,
    /// Bits of admission work an entry from an open publisher carries (sent
    /// in the `headcount-work` header; the `headcount` client computes it).
    /// Default 16 (about 65 000 hashes); at most 40.
    pub publish_work_bits: Option<u8>,
    /// The least proof of work (bits) an unverified declaration carries on
    /// this log, whatever its campaign asks. Default 16; at most 40.
    pub min_unverified_difficulty: Option<u8>,
    /// Bits of work a credentialed declaration or withdrawal carries while
    /// the log's proof verification is busy (a flood of proofs waiting);
    /// below that load none is asked. 0 turns it off (the log then only
    /// answers 503 at its hard limits). Default 16; at most 40.
    pub busy_work_bits: Option<u8>,
    /// Proofs waiting for verification from which the log counts as busy
    /// and asks `busy_work_bits` (default 256, about a tenth of a second of
    /// verification on two cores; one campaign's plain submissions count as
    /// busy from a quarter of it). 0: always busy, always ask the work.
    pub busy_at: Option<usize>,
}

/// `[storage]`: the default (absent) keeps everything in the data directory.
///
/// ```toml
/// [storage]
/// postgres = "postgres://headcount@db.internal:5432/headcount"
/// schema = "log1"                  # one schema per log (default "headcount")
/// s3 = "s3://bucket/prefix"        # tiles in a bucket (default: <data>/log)
/// lease_ttl_ms = 10000
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// PostgreSQL for the derived state, the read model, the sequencer lease
    /// (with a fencing token every write checks) and the commit point. A
    /// second `headcount serve` with the same settings is a standby: it waits
    /// for the lease and takes over when the sequencer's expires.
    pub postgres: Option<String>,
    /// The schema in that database holding this log (default `headcount`).
    pub schema: Option<String>,
    /// Tiles, bundles and the public checkpoint in an S3-compatible bucket,
    /// `s3://bucket/prefix` (needs `postgres`, which holds the commit
    /// point). Endpoint, region and credentials come from the environment:
    /// `AWS_ENDPOINT_URL` (absent: AWS), `AWS_REGION` (default
    /// `us-east-1`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub s3: Option<String>,
    /// How long the sequencer lease lasts without renewal, milliseconds
    /// (default 10000): a standby takes over at most this long after the
    /// sequencer dies.
    pub lease_ttl_ms: Option<u64>,
}

/// `"open"` or a list of hex keys.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PublishersConfig {
    Word(String),
    Keys(Vec<String>),
}

/// Default bits of admission work and least unverified-declaration work.
pub const DEFAULT_WORK_BITS: u8 = 16;

impl AdmissionConfig {
    /// The policy this table describes (defaults filled in), or why not.
    pub fn policy(&self) -> Result<headcount_server::AdmissionPolicy> {
        use headcount_server::Publishers;
        let publishers = |p: &Option<PublishersConfig>, what: &str| -> Result<Publishers> {
            match p {
                None => Ok(Publishers::Open),
                Some(PublishersConfig::Word(w)) if w == "open" => Ok(Publishers::Open),
                Some(PublishersConfig::Word(w)) => {
                    bail!("admission.{what} is \"open\" or a list of hex keys, not {w:?}")
                }
                Some(PublishersConfig::Keys(keys)) => {
                    let mut set = std::collections::BTreeSet::new();
                    for k in keys {
                        let mut b = [0u8; 32];
                        hex::decode_to_slice(k, &mut b).map_err(|_| {
                            anyhow::anyhow!("admission.{what}: {k:?} is not a 64-hex-digit key")
                        })?;
                        set.insert(b);
                    }
                    Ok(Publishers::Allow(set))
                }
            }
        };
        let bits = |b: Option<u8>, what: &str| -> Result<u8> {
            let b = b.unwrap_or(DEFAULT_WORK_BITS);
            if b > headcount_server::admission::MAX_WORK_BITS {
                bail!(
                    "admission.{what} is at most {}",
                    headcount_server::admission::MAX_WORK_BITS
                );
            }
            Ok(b)
        };
        Ok(headcount_server::AdmissionPolicy {
            registrars: publishers(&self.registrars, "registrars")?,
            organisers: publishers(&self.organisers, "organisers")?,
            publish_work_bits: bits(self.publish_work_bits, "publish_work_bits")?,
            min_unverified_difficulty: bits(
                self.min_unverified_difficulty,
                "min_unverified_difficulty",
            )?,
            busy_work_bits: bits(self.busy_work_bits, "busy_work_bits")?,
        })
    }
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
        if c.min_round_interval_ms.is_some_and(|m| m > 86_400_000) {
            bail!("min_round_interval_ms must be at most 86400000 (a day)");
        }
        if c.checkpoint_interval_ms == Some(0)
            || c.checkpoint_interval_ms.is_some_and(|m| m > 86_400_000)
        {
            bail!("checkpoint_interval_ms must be between 1 and 86400000 (a day)");
        }
        if c.checkpoint_interval_ms.is_some() && c.policy_file.is_none() {
            bail!("checkpoint_interval_ms schedules cosigned checkpoints: it needs a policy_file");
        }
        c.admission.policy()?;
        Ok(c)
    }

    /// The witness policy, if configured, with its text (served at `/policy`).
    pub fn witnessing(
        &self,
        data: &Path,
    ) -> Result<Option<(headcount_server::WitnessingOptions, String)>> {
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
        Ok(Some((
            headcount_server::WitnessingOptions {
                policy,
                timeout: Duration::from_millis(self.witness_timeout_ms.unwrap_or(5000)),
            },
            text,
        )))
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
            min_round_interval: self
                .min_round_interval_ms
                .map(Duration::from_millis)
                .unwrap_or(d.min_round_interval),
            keep_partial_tiles: self.keep_partial_tiles,
            verification: match self.admission.busy_at {
                Some(n) => headcount_server::VerificationOptions {
                    busy_at: n,
                    lane_busy_at: n / 4,
                    ..d.verification
                },
                None => d.verification,
            },
        }
    }

    /// When cosigned checkpoints are published: on a fixed schedule, or `None` (after each round).
    pub fn checkpoint_schedule(&self) -> Option<Duration> {
        self.checkpoint_interval_ms.map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headcount_server::Publishers;

    fn parse(text: &str) -> Result<ServerConfig> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text)?;
        ServerConfig::load(&p)
    }

    #[test]
    fn admission_defaults_allowlists_and_refusals() {
        let d = ServerConfig::default().admission.policy().unwrap();
        assert_eq!(
            (
                &d.registrars,
                &d.organisers,
                d.publish_work_bits,
                d.min_unverified_difficulty,
                d.busy_work_bits
            ),
            (&Publishers::Open, &Publishers::Open, 16, 16, 16)
        );
        let key = "ab".repeat(32);
        let c = parse(&format!(
            "[admission]\nregistrars = [\"{key}\"]\norganisers = \"open\"\npublish_work_bits = 20\nmin_unverified_difficulty = 12\nbusy_work_bits = 0\n"
        ))
        .unwrap();
        let p = c.admission.policy().unwrap();
        assert_eq!(p.registrars, Publishers::Allow([[0xab; 32]].into()));
        assert_eq!(
            (
                p.publish_work_bits,
                p.min_unverified_difficulty,
                p.busy_work_bits
            ),
            (20, 12, 0)
        );
        for bad in [
            "[admission]\nregistrars = \"closed\"\n",
            "[admission]\norganisers = [\"not hex\"]\n",
            "[admission]\npublish_work_bits = 41\n",
            "[admission]\nmin_unverified_difficulty = 64\n",
            "[admission]\nbusy_work_bits = 41\n",
            "[admission]\nunknown = 1\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
