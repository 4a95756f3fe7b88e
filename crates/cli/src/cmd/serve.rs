//! `headcount serve`: run a log server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use headcount_core::BbsCredentials;
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::LogSigner;

use crate::config::ServerConfig;
use crate::keys;

#[derive(clap::Args)]
pub struct Args {
    /// Data directory: tiles, checkpoint, SQLite derived state, lock.
    #[arg(long, default_value = "headcount-data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// TOML configuration file (see docs/operations.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Loads the log key, generating it (with `origin`) if it does not exist.
pub fn load_or_create_log_key(path: &Path, origin: &str) -> Result<LogSigner> {
    if path.exists() {
        let skey = keys::read_secret(path)?;
        return LogSigner::from_skey(skey.trim())
            .with_context(|| format!("parsing log key {}", path.display()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let (signer, skey, vkey) = LogSigner::generate(origin)?;
    keys::write_secret(path, zeroize::Zeroizing::new(skey).as_bytes())?;
    keys::write_public(&path.with_extension("vkey"), vkey.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new log key");
    Ok(signer)
}

/// Generates a new log key; refuses to overwrite an existing one.
pub fn load_or_create_log_key_new(path: &Path, origin: &str) -> Result<LogSigner> {
    if path.exists() {
        anyhow::bail!("{} already exists; not overwriting a key", path.display());
    }
    load_or_create_log_key(path, origin)
}

/// Opens the log in `data`.
pub fn open_log(data: &Path, config: &ServerConfig) -> Result<(Arc<Log>, SequencerOptions)> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let key_path = match &config.log_key {
        Some(p) => {
            let p = if p.is_relative() {
                data.join(p)
            } else {
                p.clone()
            };
            // A configured key that is missing is a mistake, not a new log.
            if !p.exists() {
                anyhow::bail!("the configured log key {} does not exist", p.display());
            }
            p
        }
        None => crate::default_log_key(data),
    };
    let origin = config
        .origin
        .clone()
        .unwrap_or_else(|| "headcount.local/log".into());
    let signer = load_or_create_log_key(&key_path, &origin)?;
    let options = config.sequencer();
    let witnessing = config.witnessing(data)?;
    let log = match crate::cmd::storage::open(data, &config.storage)? {
        Some(storage) => {
            Log::open_with(storage, signer, Arc::new(BbsCredentials), options.clone())?
        }
        None => Log::open(data, signer, Arc::new(BbsCredentials), options.clone())?,
    };
    log.set_auditors(config.auditors.clone());
    log.set_admission(config.admission.policy()?);
    if let Some((w, text)) = witnessing {
        eprintln!(
            "witnessing: {} witnesses in the policy (published at /policy)",
            w.policy.witnesses().len()
        );
        log.publish_witness_policy(&text);
        log.start_witnessing_scheduled(w, config.checkpoint_schedule());
    }
    Ok((log, options))
}

pub async fn run(args: Args) -> Result<()> {
    let config = match &args.config {
        Some(p) => ServerConfig::load(p)?,
        None => ServerConfig::default(),
    };
    let (log, _) = open_log(&args.data, &config)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    eprintln!(
        "headcount log {} serving on http://{}",
        log.origin(),
        listener.local_addr()?
    );
    eprintln!("log key: {}", log.vkey());
    let mut dashboard = headcount_dashboard::router(Arc::clone(&log));
    if config.public_metrics {
        dashboard = dashboard.merge(headcount_server::api::metrics_router(Arc::clone(&log)));
    }
    if let Some(addr) = config.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the metrics listener {addr}"))?;
        eprintln!("metrics on http://{}/metrics", l.local_addr()?);
        tokio::spawn(headcount_server::serve_metrics(Arc::clone(&log), l));
    }
    let served =
        headcount_server::serve_with(Arc::clone(&log), listener, dashboard, shutdown_signal())
            .await;
    log.shutdown();
    served?;
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, so the pool drains before exit.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// A log server running inside this process (for `demo` and `bench`).
pub struct InProcess {
    pub url: String,
    pub log: Arc<Log>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl InProcess {
    /// Opens the log in `data` and serves it on `listen`.
    pub async fn start(data: &Path, config: &ServerConfig, listen: SocketAddr) -> Result<Self> {
        let (log, _) = open_log(data, config)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(headcount_server::serve_with(
            Arc::clone(&log),
            listener,
            headcount_dashboard::router(Arc::clone(&log)),
            async move {
                let _ = rx.await;
            },
        ));
        Ok(InProcess {
            url,
            log,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops serving and shuts the sequencer down.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await??;
        }
        self.log.shutdown();
        Ok(())
    }
}
