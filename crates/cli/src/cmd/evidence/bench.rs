//! `headcount evidence bench`: size and time of `export` and `verify` in
//! both modes on a generated log, with the plain audit of the same log as
//! the baseline measured in the same run, and a linear extrapolation to
//! 1 million entries (every cost here is linear in the entries folded,
//! except inclusion proofs, which grow with log2 of the tree).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use ed25519_dalek::SigningKey;
use headcount_audit::AuditOptions;
use headcount_core::BbsCredentials;
use headcount_evidence::Pins;

use crate::client::LogClient;
use crate::cmd::campaign::{CampaignSpec, TextSpec, campaign_entry};
use crate::cmd::serve::InProcess;
use crate::cmd::{registrar, vouch};
use crate::config::ServerConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Entries in the log (vouched declarations, Ed25519-signed).
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Share of them in the exported campaign (the rest in another one).
    #[arg(long, default_value_t = 0.1)]
    pub share: f64,
    /// Concurrent HTTP clients while filling the log.
    #[arg(long, default_value_t = 1024)]
    pub concurrency: usize,
}

pub async fn run(a: Args) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = ServerConfig {
        origin: Some("bench.headcount.local/log".into()),
        batch_interval_ms: Some(100),
        max_batch: Some(8192),
        pool_capacity: Some(a.concurrency * 4),
        ..Default::default()
    };
    let server = InProcess::start(&dir.path().join("log"), &config, "127.0.0.1:0".parse()?).await?;
    let client = LogClient::new(&server.url);
    let keys = crate::keys::RegistrarKeys {
        signing: SigningKey::generate(&mut rand::rngs::OsRng),
        bbs_secret: None,
        bbs_public: registrar::new_bbs_keypair()?.1,
    };
    let (reg, reg_bytes) =
        registrar::registrar_entry(&keys, "Bench registrar", "Bench policy.", "")?;
    let headcount_core::entry::Entry::Registrar(reg) = reg else {
        bail!("registrar entry")
    };
    client.submit_ok(&reg_bytes).await?;
    let now = crate::cmd::now();
    let mut campaigns = Vec::new();
    for title in ["Appeal", "Other"] {
        let spec = CampaignSpec {
            opens_at: (now - 3600).to_string(),
            closes_at: (now + 86_400).to_string(),
            unverified_difficulty: 0,
            min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
            registrars: vec![reg.id().to_hex()],
            addressees: vec!["The addressee".into()],
            text: vec![
                TextSpec {
                    lang: "en".into(),
                    title: title.into(),
                    statement: "Bench.".into(),
                },
                TextSpec {
                    lang: "zh".into(),
                    title: "呼吁".into(),
                    statement: "基准。".into(),
                },
            ],
        };
        let (c, bytes) = campaign_entry(&spec, &SigningKey::generate(&mut rand::rngs::OsRng))?;
        client.submit_ok(&bytes).await?;
        campaigns.push(c.id());
    }
    let target = campaigns[0];
    let every = (1.0 / a.share.clamp(0.0001, 1.0)).round().max(1.0) as usize;
    let entries: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..a.entries)
            .map(|i| {
                let c = if i % every == 0 { target } else { campaigns[1] };
                vouch::vouched_entry(
                    &keys.signing,
                    reg.id(),
                    c,
                    &format!("p{i}"),
                    &format!("B{i}"),
                    "",
                )
            })
            .collect::<Result<_>>()?,
    );
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.min(a.entries).max(1) {
        let (c, e, next) = (client.clone(), Arc::clone(&entries), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= e.len() {
                    return Ok::<(), anyhow::Error>(());
                }
                c.submit_ok(&e[i]).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let size = a.entries as u64 + 3;
    println!(
        "headcount evidence bench: a log of {size} entries ({} in the exported campaign), filled in {:.1}s\n",
        a.entries.div_ceil(every),
        t.elapsed().as_secs_f64()
    );

    // Baseline: the plain audit of the same log, over HTTP.
    let mut opts = AuditOptions::new(server.url.clone());
    opts.log_key = Some(server.log.vkey());
    let t = Instant::now();
    let report = headcount_audit::audit(&opts, &BbsCredentials).await?;
    let audit = t.elapsed().as_secs_f64();
    if !report.verdict.agrees() {
        bail!("the audit did not agree");
    }
    println!("  baseline  audit over HTTP          {audit:>7.2}s");

    let mut rows = Vec::new();
    for compact in [false, true] {
        let out = dir
            .path()
            .join(if compact { "compact.zip" } else { "full.zip" });
        let e = super::export_packet(&super::ExportArgs {
            campaign: target.to_hex(),
            server: server.url.clone(),
            out: out.clone(),
            compact,
            log_key: Some(server.log.vkey()),
            policy: None,
            auditor_key: vec![],
            no_pdf: true,
            chromium: None,
            quiet: true,
        })
        .await?;
        let bytes = std::fs::read(&out)?;
        let t = Instant::now();
        let v = headcount_evidence::verify_bytes(&bytes, &Pins::default(), &BbsCredentials)
            .map_err(|f| anyhow::anyhow!("the packet does not verify: {f}"))?;
        let verify = t.elapsed().as_secs_f64();
        let mode = if compact { "compact" } else { "full" };
        println!(
            "  {mode:<8}  export {:>7.2}s ({:.2}× the audit)   verify {verify:>7.2}s ({:.2}× the audit)   {:>11} bytes ({:.0} bytes per log entry, {:.0} per campaign entry)",
            e.secs,
            e.secs / audit,
            verify / audit,
            bytes.len(),
            bytes.len() as f64 / size as f64,
            bytes.len() as f64 / v.claims.entries.max(1) as f64,
        );
        rows.push((
            mode,
            e.secs,
            verify,
            bytes.len() as f64,
            v.claims.entries as f64,
        ));
    }
    println!(
        "\n  extrapolated to 1,000,000 log entries, {:.0}% of them in the campaign (linear in entries):",
        100.0 / every as f64
    );
    for (mode, export, verify, bytes, campaign_entries) in rows {
        let scale = if mode == "full" {
            1e6 / size as f64
        } else {
            // Compact size and time follow the campaign's entries; each proof grows from log2 of this tree to log2(1e6).
            (1e6 / every as f64) / campaign_entries.max(1.0)
        };
        println!(
            "  {mode:<8}  export ~{:.0}s   verify ~{:.0}s   ~{:.0} MB",
            export * 1e6 / size as f64,
            verify * scale,
            bytes * scale / 1e6
        );
    }
    println!(
        "\n  (vouched declarations verify by one Ed25519 signature each; credentialed ones by a BBS pseudonym\n   proof, slower per entry: see `headcount bench` for the verifier's rate. The PDF adds a constant few seconds.)"
    );
    server.stop().await
}
