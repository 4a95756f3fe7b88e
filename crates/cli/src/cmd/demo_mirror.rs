//! The demo's mirror (issue 11): a C2SP tlog-mirror that keeps serving after the log stops.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use headcount_audit::AuditOptions;
use headcount_core::BbsCredentials;
use headcount_mirror::{Mirror, MirrorConfig};

/// A running in-process mirror.
pub struct DemoMirror {
    pub url: String,
    mirror: Arc<Mirror>,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a mirror of the log at `log_url` and brings it up to date.
pub async fn start(data: &Path, log_url: &str, log_key: &str) -> Result<DemoMirror> {
    let (_, skey, vkey) = headcount_cosignature::CosignatureSigner::generate("mirror.example")?;
    let skey = zeroize::Zeroizing::new(skey);
    let config = MirrorConfig::new(&skey, log_key, log_url)?;
    let mirror = Arc::new(Mirror::open(config, &data.join("mirror"))?);
    let client = reqwest::Client::new();
    let size = headcount_mirror::follow_once(&mirror, &client)
        .await
        .context("mirroring the demo log")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/{}", listener.local_addr()?, mirror.origin_hash());
    let server = tokio::spawn(headcount_mirror::serve_on(
        Arc::clone(&mirror),
        listener,
        std::future::pending(),
    ));
    println!(
        "10. mirror      mirror.example ({vkey}) copied and verified the log (size {size}) and cosigned it; \
         it serves it at {url}"
    );
    Ok(DemoMirror {
        url,
        mirror,
        _server: server,
    })
}

/// With the log stopped: audits the log from the mirror alone.
pub async fn after_the_log_stops(m: &DemoMirror, log_key: &str) -> Result<()> {
    let mut opts = AuditOptions::new(m.url.clone());
    opts.log_key = Some(log_key.to_owned());
    let report = headcount_audit::audit(&opts, &BbsCredentials)
        .await
        .context("auditing from the mirror")?;
    println!(
        "\n12. takedown    the log server is now stopped; an audit from the mirror alone re-verified {} entries: {}",
        report.entries,
        if report.verdict.agrees() {
            "AGREES"
        } else {
            "DIFFERS"
        }
    );
    if !report.verdict.agrees() || report.entries != m.mirror.size() {
        bail!("the audit from the mirror did not agree");
    }
    Ok(())
}
