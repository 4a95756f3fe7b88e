//! `headcount audit URL`: download the log, verify everything, recompute
//! every tally, compare with what the server publishes, print a verdict.
//! With `--follow`, a monitor: verify each new checkpoint incrementally and
//! raise an alarm on a fork, a rollback, a split view, an invalid entry or a
//! tally the log does not support.
//! Exit status: 0 agrees, 1 the audit could not complete, 2 the log differs.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use headcount_audit::{
    AuditOptions, AuditReport, Monitor, MonitorOptions, Policy, TallyNoteStatus, Vantage, Verdict,
};
use headcount_core::BbsCredentials;

const EXIT_CODES: &str = "\
Exit status:
  0  the log agrees (with --follow: after --rounds rounds that all agreed)
  1  the audit could not complete (network, bad key or policy file, state directory);
     says nothing about the log
  2  the log differs, or (with --follow) an alarm: fork, rollback, split view,
     witness quorum not met, invalid entry, or a tally (JSON or signed note)
     the log does not support. The finding's code and evidence are printed,
     and with --state also written to DIR/alarms/.

Monitor mode (--follow --state DIR) keeps the last verified checkpoint in
DIR/checkpoint (and every verified one in DIR/checkpoints/), the log key in
DIR/log.vkey and the tile cache in DIR/tiles; each round fetches and folds
only what is new. A round that cannot complete (server down) is reported and
retried at the next interval; it is not an alarm.

--alarm-command CMD runs `sh -c CMD` on an alarm with HEADCOUNT_ALARM_CODE,
HEADCOUNT_ALARM_MESSAGE, HEADCOUNT_ALARM_URL, HEADCOUNT_ALARM_TREE_SIZE,
HEADCOUNT_ALARM_CHECKPOINT and HEADCOUNT_ALARM_EVIDENCE (the alarm file) set.";

#[derive(clap::Args)]
#[command(after_long_help = EXIT_CODES)]
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
    /// A C2SP tlog-policy file: the checkpoint must be signed by the log and
    /// cosigned by a quorum of its witnesses (finding `witness_quorum`). A
    /// policy that lists exactly one log also pins the log key.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A checkpoint without a signed tally note at its size is a finding
    /// (`tally_note_missing`); by default it is only reported.
    #[arg(long)]
    pub require_tally_note: bool,
    /// Another URL serving the same log (mirror, CDN, onion address): its
    /// checkpoint must be consistent with ours (finding `split_view`). Repeatable.
    #[arg(long, value_name = "URL2")]
    pub compare: Vec<String>,
    /// A checkpoint note obtained elsewhere (a receipt, a witness, a friend):
    /// it must be signed by the log key and consistent with ours. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub compare_checkpoint: Vec<PathBuf>,
    /// Monitor mode: keep following the log, one round every --interval;
    /// stop with exit status 2 on the first alarm.
    #[arg(long, requires = "state", conflicts_with_all = ["attest", "cache"])]
    pub follow: bool,
    /// The monitor's state directory (last verified checkpoint, pinned key,
    /// tile cache, alarms); a restart resumes from it.
    #[arg(long, value_name = "DIR", requires = "follow")]
    pub state: Option<PathBuf>,
    /// Seconds between monitor rounds.
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "follow")]
    pub interval: u64,
    /// Shell command run on an alarm, with the finding in HEADCOUNT_ALARM_*
    /// environment variables (see below).
    #[arg(long, value_name = "CMD", requires = "follow")]
    pub alarm_command: Option<String>,
    /// Stop after this many monitor rounds (default: follow forever).
    #[arg(long, value_name = "N", requires = "follow")]
    pub rounds: Option<u64>,
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
    for c in &r.cosigners {
        println!(
            "cosigned   by {} ({}) at {} UTC",
            c.name,
            c.key_name,
            crate::cmd::fmt_time(c.timestamp)
        );
    }
    match r.tally_note {
        TallyNoteStatus::Verified => {
            println!("tally note signed by the log; every line matches the recomputed tallies")
        }
        TallyNoteStatus::Missing => {
            println!("tally note none published at this size")
        }
        TallyNoteStatus::NotChecked | TallyNoteStatus::Differs => {}
    }
    for c in &r.compared {
        match &c.undetermined {
            None => println!(
                "compared   {}: size {} is consistent with ours",
                c.source, c.checkpoint.size.0
            ),
            Some(why) => println!(
                "compared   {}: size {} could not be checked: {why}",
                c.source, c.checkpoint.size.0
            ),
        }
    }
    for o in &r.over_bound {
        println!(
            "EVIDENCE   registrar {} month {}: {} declarations in campaign {} but it logged only {} credentials for that month",
            o.registrar, o.period, o.declarations, o.campaign, o.size
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
            for (label, note) in f.evidence() {
                println!("evidence   {label}:");
                for line in String::from_utf8_lossy(note).lines() {
                    println!("  {line}");
                }
            }
            false
        }
    }
}

fn options(a: &Args) -> Result<AuditOptions> {
    let mut opts = AuditOptions::new(a.url.clone());
    opts.log_key = a.log_key.clone();
    opts.cache_dir = a.cache.clone();
    opts.parallelism = a.parallel.max(1);
    opts.progress = !a.quiet && !a.follow;
    opts.require_tally_note = a.require_tally_note;
    if let Some(p) = &a.policy {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("reading the policy {}", p.display()))?;
        opts.policy =
            Some(Policy::parse(&text).with_context(|| format!("the policy {}", p.display()))?);
    }
    opts.compare = a.compare.iter().cloned().map(Vantage::Url).collect();
    for f in &a.compare_checkpoint {
        let note =
            std::fs::read(f).with_context(|| format!("reading the checkpoint {}", f.display()))?;
        opts.compare.push(Vantage::Note {
            source: f.display().to_string(),
            note,
        });
    }
    Ok(opts)
}

/// Monitor mode; never returns (exits 0, 1 or 2).
async fn follow(a: &Args, opts: AuditOptions) -> ! {
    let Some(state_dir) = a.state.clone() else {
        eprintln!("--follow needs --state DIR");
        std::process::exit(1);
    };
    let mut monitor = match Monitor::open(MonitorOptions {
        audit: opts,
        state_dir,
        alarm_command: a.alarm_command.clone(),
    }) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("the monitor could not start: {e}");
            std::process::exit(1);
        }
    };
    if let Some(cp) = monitor.last_verified() {
        println!(
            "resuming   from the verified checkpoint of size {}",
            cp.size.0
        );
    }
    let mut round = 0u64;
    loop {
        round += 1;
        let before = monitor.last_verified().map_or(0, |c| c.size.0);
        let failed = match monitor.round(&BbsCredentials).await {
            Ok(r) => match &r.verdict {
                Verdict::Agrees => {
                    let cp = r.checkpoint.as_ref();
                    let size = cp.map_or(0, |c| c.size.0);
                    let cosigned: Vec<&str> = r.cosigners.iter().map(|c| c.name.as_str()).collect();
                    println!(
                        "round {round}   size {size} root {} verified: {} new entries, {} tiles fetched{}{}",
                        cp.map(|c| c.root.to_string()).unwrap_or_default(),
                        size.saturating_sub(before),
                        r.fetch.fetched_full + r.fetch.fetched_partial,
                        if cosigned.is_empty() {
                            String::new()
                        } else {
                            format!(", cosigned by {}", cosigned.join(", "))
                        },
                        match r.tally_note {
                            TallyNoteStatus::Verified => ", tally note verified",
                            TallyNoteStatus::Missing => ", no tally note",
                            _ => "",
                        }
                    );
                    false
                }
                Verdict::Differs(f) => {
                    print_report(&r);
                    eprintln!(
                        "ALARM ({}): {f}\nthe evidence is in {}",
                        f.code(),
                        monitor.options().state_dir.join("alarms").display()
                    );
                    std::process::exit(2);
                }
            },
            Err(e) => {
                eprintln!("round {round}   could not complete (retrying next round): {e}");
                true
            }
        };
        if a.rounds.is_some_and(|n| round >= n) {
            std::process::exit(i32::from(failed));
        }
        tokio::time::sleep(Duration::from_secs(a.interval)).await;
    }
}

pub async fn run(a: Args) -> Result<()> {
    let opts = match options(&a) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("audit could not start: {e:#}");
            std::process::exit(1);
        }
    };
    if a.follow {
        follow(&a, opts).await;
    }
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
                let body = crate::client::read_limited(r, 4096)
                    .await
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if status.is_success() {
                    println!("attestation submitted: the log accepted it ({status})");
                } else {
                    let why = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| {
                            Some(format!(
                                "{} ({})",
                                v["message"].as_str()?,
                                v["error"].as_str()?
                            ))
                        })
                        .unwrap_or(body);
                    eprintln!("the log refused the attestation (HTTP {status}): {why}");
                    std::process::exit(if agrees { 1 } else { 2 });
                }
            }
        }
    }
    if !agrees {
        std::process::exit(2);
    }
    Ok(())
}
