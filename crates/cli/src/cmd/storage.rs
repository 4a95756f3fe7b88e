//! `[storage]` of the server config: the log on PostgreSQL (derived state,
//! read model, sequencer lease, commit point) with its tiles in the data
//! directory or an S3-compatible bucket (`crates/scaleout`). Absent, the log
//! keeps everything in its data directory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use headcount_scaleout::log_storage;
use headcount_scaleout::s3::{S3Location, S3Tiles};
use headcount_server::Storage;
use headcount_server::tiles::FsTiles;
use headcount_storage::{StorageError, TileStore};
use rand::RngCore;

use crate::config::StorageConfig;

/// Default lease time to live.
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// The configured storage with the sequencer lease taken, or `None` for the
/// data directory. While another sequencer holds the lease this waits (a
/// standby), trying again every third of the lease's time to live.
pub fn open(data: &Path, c: &StorageConfig) -> Result<Option<Storage>> {
    let Some(url) = &c.postgres else {
        if c.s3.is_some() || c.schema.is_some() || c.lease_ttl_ms.is_some() {
            bail!(
                "storage: s3, schema and lease_ttl_ms need storage.postgres (which holds the commit point and the lease)"
            );
        }
        return Ok(None);
    };
    let schema = c.schema.as_deref().unwrap_or("headcount");
    let ttl = match c.lease_ttl_ms {
        None => DEFAULT_LEASE_TTL,
        Some(ms) if (1_000..=600_000).contains(&ms) => Duration::from_millis(ms),
        Some(_) => bail!("storage.lease_ttl_ms must be between 1000 and 600000"),
    };
    let tiles: Arc<dyn TileStore> = match &c.s3 {
        Some(s3) => Arc::new(S3Tiles::new(&s3_location(s3)?).context("storage.s3")?),
        None => Arc::new(FsTiles::new(data.join("log"))),
    };
    // Names this process in the lease row (no host name or address: a
    // random id and the process id).
    let mut id = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let holder = format!("serve-{}-{}", hex::encode(id), std::process::id());
    let mut said = false;
    loop {
        match log_storage::postgres(url, schema, Arc::clone(&tiles), &holder, ttl) {
            Ok(s) => {
                if said {
                    eprintln!("standby: took over the sequencer lease as {holder}");
                }
                return Ok(Some(s));
            }
            Err(StorageError::LeaseHeld { holder: other }) => {
                if !said {
                    eprintln!(
                        "standby: the sequencer lease is held by {other}; waiting to take over"
                    );
                    said = true;
                }
                std::thread::sleep(ttl / 3);
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("opening the log's storage (schema {schema})"));
            }
        }
    }
}

/// `s3://bucket/prefix` and the environment's endpoint, region and keys.
fn s3_location(spec: &str) -> Result<S3Location> {
    let rest = spec
        .strip_prefix("s3://")
        .with_context(|| format!("storage.s3 is s3://bucket/prefix, not {spec:?}"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("storage.s3 names no bucket: {spec:?}");
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Ok(S3Location {
        endpoint: var("AWS_ENDPOINT_URL"),
        region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        bucket: bucket.into(),
        prefix: prefix.trim_matches('/').into(),
        access_key_id: var("AWS_ACCESS_KEY_ID")
            .context("storage.s3 needs AWS_ACCESS_KEY_ID in the environment")?,
        secret_access_key: var("AWS_SECRET_ACCESS_KEY")
            .context("storage.s3 needs AWS_SECRET_ACCESS_KEY in the environment")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_settings_without_postgres_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for c in [
            StorageConfig {
                s3: Some("s3://b/p".into()),
                ..Default::default()
            },
            StorageConfig {
                schema: Some("x".into()),
                ..Default::default()
            },
        ] {
            let e = open(dir.path(), &c).err().expect("refused").to_string();
            assert!(e.contains("need storage.postgres"), "{e}");
        }
        assert!(
            open(dir.path(), &StorageConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn s3_specs_parse_or_say_why() {
        assert!(s3_location("http://b/p").is_err());
        assert!(s3_location("s3:///p").is_err());
    }
}
