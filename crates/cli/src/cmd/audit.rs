//! `headcount audit URL`: download the log, verify everything, recompute
//! every tally, compare with what the server publishes, print a verdict.
//! Exit status: 0 agrees, 1 the audit could not complete, 2 the log differs.

use std::path::PathBuf;

use anyhow::Result;
use headcount_audit::{AuditOptions, AuditReport, Verdict};
use headcount_core::BbsCredentials;

#[derive(clap::Args)]
pub struct Args {
    /// Base URL of the log server.
    pub url: String,
    /// The log's public key (signed-note form). Without it the key the server
    /// publishes is trusted on first use, which the report says.
    #[arg(long)]
    pub log_key: Option<String>,
    /// Cache directory: full tiles are immutable, so a rerun resumes.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Concurrent downloads.
    #[arg(long, short = 'j', default_value_t = headcount_audit::DEFAULT_PARALLELISM)]
    pub parallel: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Sign the result as an attestation with this auditor key (from
    /// `headcount keygen auditor`) and write it next to the cache or here.
    #[arg(long)]
    pub attest: Option<PathBuf>,
    /// Where to write the attestation (default: attestation-<size>.note).
    #[arg(long, requires = "attest")]
    pub attestation_out: Option<PathBuf>,
    /// Also send the attestation to the log, which publishes it if it lists this auditor.
    #[arg(long, requires = "attest")]
    pub submit: bool,
}

/// Signs the audit's result as an attestation note.
pub fn attestation(report: &AuditReport, auditor_skey: &str) -> Result<Option<Vec<u8>>> {
    use base64::Engine;
    let Some(cp) = &report.checkpoint else {
        return Ok(None);
    };
    let verdict = match &report.verdict {
        Verdict::Agrees => "agrees".to_string(),
        Verdict::Differs(f) => format!("differs {}", f.code()),
    };
    let text = headcount_core::notes::CountsNote::new(
        &cp.origin,
        cp.size.0,
        &base64::engine::general_purpose::STANDARD.encode(cp.root.0),
        &report.tallies,
        Some(verdict),
    )
    .to_text();
    let signer = signed_note::StandardSigner::new(auditor_skey.trim())
        .map_err(|e| anyhow::anyhow!("the auditor key: {e}"))?;
    let mut note =
        signed_note::Note::new(text.as_bytes(), &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    note.add_sigs(&[&signer])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(note.to_bytes()))
}

/// Prints a report; returns whether the log agrees.
pub fn print_report(r: &AuditReport) -> bool {
    if let Some(cp) = &r.checkpoint {
        println!(
            "log        {} (size {}, root {})",
            cp.origin, cp.size.0, cp.root
        );
    }
    println!(
        "log key    {}{}",
        r.log_key,
        if r.trust_on_first_use {
            "  (trusted on first use: pass --log-key to pin it)"
        } else {
            ""
        }
    );
    println!(
        "checked    {} entries, {} tiles ({} downloaded, {} from cache), {} published tallies compared, in {:.2}s",
        r.entries,
        r.fetch.tiles,
        r.fetch.fetched_full + r.fetch.fetched_partial,
        r.fetch.from_cache,
        r.published_compared,
        r.elapsed.as_secs_f64()
    );
    for t in &r.tallies {
        println!(
            "campaign   {}  credible {} = credentialed {} + vouched {}   unverified {}   withdrawals {}",
            t.campaign, t.credible, t.credentialed, t.vouched, t.unverified, t.withdrawals
        );
    }
    for o in &r.over_bound {
        println!(
            "EVIDENCE   registrar {} batch {}: {} declarations in campaign {} but the batch logged only {} credentials",
            o.registrar, o.batch, o.declarations, o.campaign, o.size
        );
    }
    match &r.verdict {
        Verdict::Agrees => {
            println!(
                "verdict    AGREES: every entry is valid and every published tally matches the log"
            );
            true
        }
        Verdict::Differs(f) => {
            println!("verdict    DIFFERS ({}): {f}", f.code());
            false
        }
    }
}

pub async fn run(a: Args) -> Result<()> {
    let mut opts = AuditOptions::new(a.url);
    opts.log_key = a.log_key;
    opts.cache_dir = a.cache;
    opts.parallelism = a.parallel.max(1);
    opts.progress = !a.quiet;
    let report = match headcount_audit::audit(&opts, &BbsCredentials).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("audit could not complete: {e}");
            std::process::exit(1);
        }
    };
    let agrees = print_report(&report);
    if let Some(key) = &a.attest {
        let skey = crate::keys::read_secret(key)?;
        if let Some(note) = attestation(&report, &skey)? {
            let size = report.checkpoint.as_ref().map_or(0, |c| c.size.0);
            let out = a
                .attestation_out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("attestation-{size}.note")));
            std::fs::write(&out, &note)?;
            println!("attestation written to {}", out.display());
            if a.submit {
                let r = reqwest::Client::new()
                    .post(format!(
                        "{}/v1/attestations",
                        opts.url.trim_end_matches('/')
                    ))
                    .body(note)
                    .send()
                    .await?;
                let status = r.status();
                println!(
                    "attestation submitted: HTTP {status} {}",
                    r.text().await.unwrap_or_default()
                );
            }
        }
    }
    if !agrees {
        std::process::exit(2);
    }
    Ok(())
}
