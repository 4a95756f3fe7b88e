//! `headcount witness serve`: a C2SP tlog-witness that cosigns a log's
//! checkpoints only if each is consistent with the last one it cosigned.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::keys;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Run a witness (POST /add-checkpoint, C2SP tlog-witness).
    Serve {
        /// The witness key (from `headcount keygen witness`).
        #[arg(long)]
        key: PathBuf,
        /// State directory: the last checkpoint cosigned per log, kept durably.
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8092")]
        listen: SocketAddr,
        /// A log to witness, as ORIGIN=VKEY (repeatable).
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Serve {
            key,
            state,
            listen,
            logs,
        } => {
            let skey = keys::read_secret(&key)?;
            let mut config = headcount_witness::WitnessConfig::from_skey(skey.trim())
                .context("parsing the witness key")?;
            for l in &logs {
                let Some((origin, vkey)) = l.split_once('=') else {
                    bail!("--log takes ORIGIN=VKEY, got {l:?}")
                };
                config
                    .add_log(origin, vkey)
                    .with_context(|| format!("adding log {origin}"))?;
            }
            eprintln!(
                "witness {} on http://{listen} ({} logs)",
                config.vkey(),
                logs.len()
            );
            headcount_witness::serve(config, &state, listen).await?;
        }
    }
    Ok(())
}
