//! `headcount mirror serve`: a C2SP tlog-mirror that follows one log, verifies every
//! checkpoint and tile, stores a copy, cosigns it, and serves it read-only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use headcount_mirror::{Mirror, MirrorConfig};

use crate::keys;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Follow a log and serve a verified, cosigned copy of it at
    /// `http://LISTEN/<sha256(origin)>/` (checkpoint, tiles, entry bundles).
    /// Audits, receipt checks and claims work against that URL alone, after
    /// the log itself is gone.
    Serve {
        /// The mirror's cosigning key (C2SP cosignature/v1: `headcount keygen witness --name NAME`).
        #[arg(long)]
        key: PathBuf,
        /// State directory: the tiles and the cosigned checkpoint, kept durably.
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8093")]
        listen: SocketAddr,
        /// The log's URL, e.g. `https://log.example.org`.
        #[arg(long)]
        log_url: String,
        /// The log's public key (signed-note form).
        #[arg(long)]
        log_key: String,
        /// A C2SP tlog-policy file: mirror only checkpoints with its witness quorum.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// How often to poll the log, in milliseconds.
        #[arg(long, default_value_t = 5_000)]
        interval_ms: u64,
    },
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Serve {
            key,
            state,
            listen,
            log_url,
            log_key,
            policy,
            interval_ms,
        } => {
            let skey = keys::read_secret(&key)?;
            let mut config = MirrorConfig::new(skey.trim(), &log_key, &log_url)
                .context("configuring the mirror")?;
            if let Some(p) = &policy {
                config = config.with_policy(crate::client::load_policy(p)?);
            }
            let mirror = Arc::new(
                Mirror::open(config, &state)
                    .with_context(|| format!("opening the mirror state in {}", state.display()))?,
            );
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            println!("mirror key: {}", mirror.config().vkey());
            println!("mirror url: http://{addr}/{}", mirror.origin_hash());
            println!(
                "mirrored size: {} (following {log_url} every {interval_ms} ms)",
                mirror.size()
            );
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(20))
                .timeout(Duration::from_secs(120))
                .build()?;
            let shutdown = || async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let follower = tokio::spawn(headcount_mirror::follow(
                Arc::clone(&mirror),
                client,
                Duration::from_millis(interval_ms.max(100)),
                shutdown(),
            ));
            headcount_mirror::serve_on(mirror, listener, shutdown())
                .await
                .context("serving")?;
            follower.abort();
        }
    }
    Ok(())
}
