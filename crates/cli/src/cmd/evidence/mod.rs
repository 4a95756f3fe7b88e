//! `headcount evidence export|verify`: the appeal's evidence packet.
//!
//! `export` audits the log (every tile, entry and tally, as `headcount
//! audit`), refuses to write a packet for a log that does not agree, and
//! writes one ZIP file: full (the whole log) or `--compact` (the campaign's
//! entries with inclusion proofs), with an HTML report and its PDF printed
//! by Chromium. `verify` needs no network at all.
//! Exit status of `verify`: 0 verified, 1 the file cannot be read, 2 it does
//! not verify (with the reason).

mod bench;
mod pdf;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use headcount_audit::{AuditOptions, Policy, Verdict};
use headcount_core::{BbsCredentials, CampaignId};
use headcount_evidence::{Failure, LogData, Mode, Pins, Verified};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Audit the log and write one self-contained, offline-verifiable packet for a campaign.
    Export(ExportArgs),
    /// Check a packet offline (no network) and say what it proves, on whose word.
    Verify(VerifyArgs),
    /// Measure export and verify (size, time) on a generated log, against a plain audit.
    Bench(bench::Args),
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The campaign id (hex).
    pub campaign: String,
    /// Base URL of the log server.
    #[arg(long)]
    pub server: String,
    /// Where to write the packet (a ZIP file).
    #[arg(long)]
    pub out: PathBuf,
    /// Compact mode: only the campaign's entries, with inclusion proofs
    /// (proves "at least N"; exactness then rests on the auditors).
    #[arg(long)]
    pub compact: bool,
    /// The log's public key; without it the key the server publishes is
    /// trusted on first use (and the packet still names it).
    #[arg(long)]
    pub log_key: Option<String>,
    /// The witness policy (C2SP tlog-policy) to check the checkpoint against
    /// and put in the packet; without it the server's `/policy`, if any.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// An auditor whose attestations (from `/v1/attestations`) go in the
    /// packet: its signed-note verifier key, or a file holding it. Repeatable.
    #[arg(long, value_name = "VKEY|FILE")]
    pub auditor_key: Vec<String>,
    /// Write the packet without the PDF report when Chromium is missing.
    #[arg(long)]
    pub no_pdf: bool,
    /// The Chromium that prints the PDF (default: $HEADCOUNT_CHROMIUM or /usr/bin/chromium).
    #[arg(long, value_name = "PATH")]
    pub chromium: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The packet file.
    pub file: PathBuf,
    /// Pin the log's public key (as the log publishes it) instead of taking the packet's.
    #[arg(long)]
    pub log_key: Option<String>,
    /// Pin the witness policy (C2SP tlog-policy file) instead of taking the packet's.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

pub async fn run(c: Command) -> Result<()> {
    match c {
        Command::Export(a) => export(a).await,
        Command::Verify(a) => verify(a),
        Command::Bench(a) => bench::run(a).await,
    }
}

/// A key given inline or as a file.
fn key_arg(s: &str) -> Result<String> {
    let p = Path::new(s);
    if !s.contains('+') && p.exists() {
        return Ok(std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))?
            .trim()
            .to_owned());
    }
    Ok(s.trim().to_owned())
}

#[derive(serde::Deserialize)]
struct AttestationRow {
    note: String,
}

/// What [`export_packet`] wrote.
pub struct Exported {
    pub packet: headcount_evidence::Packet,
    pub bytes: usize,
    pub secs: f64,
    pub trust_on_first_use: bool,
    /// What became of the PDF, in words.
    pub pdf_note: String,
}

async fn export(a: ExportArgs) -> Result<()> {
    let e = export_packet(&a).await?;
    let m = &e.packet.manifest;
    let t = &m.claims.tally;
    println!(
        "packet     {} ({} mode, {} bytes) in {:.1}s",
        a.out.display(),
        m.mode.as_str(),
        e.bytes,
        e.secs
    );
    println!(
        "campaign   {} ({})",
        m.claims
            .campaign
            .texts
            .first()
            .map_or("", |t| t.title.as_str()),
        m.claims.campaign.id
    );
    println!(
        "checkpoint size {}, log key {}{}",
        m.tree_size,
        m.log_key,
        if e.trust_on_first_use {
            " (trusted on first use: pass --log-key to pin it)"
        } else {
            ""
        }
    );
    println!(
        "counts     credible {} = credentialed {} + vouched {}; unverified {}; withdrawals {}",
        t.credible, t.credentialed, t.vouched, t.unverified, t.withdrawals
    );
    println!(
        "auditors   {} attestation(s) included",
        m.attestations.len()
    );
    println!("report     report.html; {}", e.pdf_note);
    Ok(())
}

/// Audits the log, builds the packet, prints the PDF, writes the file.
pub async fn export_packet(a: &ExportArgs) -> Result<Exported> {
    let started = Instant::now();
    let campaign = CampaignId::from_hex(a.campaign.trim())
        .with_context(|| format!("{:?} is not a campaign id (64 hex digits)", a.campaign))?;
    // Chromium first: a missing PDF is known before minutes of download.
    let chromium = if a.no_pdf {
        None
    } else {
        match pdf::find(a.chromium.as_deref()) {
            Some(c) => Some(c),
            None => bail!(
                "Chromium was not found ({}), so the PDF report cannot be printed. Install Debian's \
                 `chromium` package (and `fonts-noto-cjk` for Chinese), point --chromium or \
                 HEADCOUNT_CHROMIUM at one, or pass --no-pdf to write the packet without the PDF \
                 (the HTML report is always in it).",
                a.chromium
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .or_else(|| std::env::var("HEADCOUNT_CHROMIUM").ok())
                    .unwrap_or_else(|| "/usr/bin/chromium".into())
            ),
        }
    };
    let base = a.server.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let policy_text = match &a.policy {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => {
            let r = http
                .get(format!("{base}/policy"))
                .send()
                .await
                .with_context(|| format!("reaching {base}"))?;
            if r.status().is_success() {
                Some(String::from_utf8(
                    crate::client::read_limited(r, 1 << 20).await?,
                )?)
            } else {
                None
            }
        }
    };
    let mut opts = AuditOptions::new(base.clone());
    opts.log_key = a.log_key.clone().map(|k| k.trim().to_owned());
    opts.progress = !a.quiet;
    if let Some(t) = &policy_text {
        opts.policy = Some(Policy::parse(t).context("the witness policy")?);
    }
    let (report, tiles) = headcount_audit::audit_with_tiles(&opts, &BbsCredentials)
        .await
        .context("auditing the log")?;
    if let Verdict::Differs(f) = &report.verdict {
        bail!(
            "the log does not pass an audit ({}): {f}; no packet is written for a log that does not agree",
            f.code()
        );
    }
    let auditors: Vec<String> = a
        .auditor_key
        .iter()
        .map(|k| key_arg(k))
        .collect::<Result<_>>()?;
    let mut attestations = Vec::new();
    if !auditors.is_empty() {
        let r = http.get(format!("{base}/v1/attestations")).send().await?;
        if r.status().is_success() {
            let body = crate::client::read_limited(r, crate::client::MAX_RESPONSE).await?;
            let rows: Vec<AttestationRow> =
                serde_json::from_slice(&body).context("the log's attestation list")?;
            attestations = rows.into_iter().map(|r| r.note.into_bytes()).collect();
        }
    }
    let mode = if a.compact { Mode::Compact } else { Mode::Full };
    let data = LogData {
        checkpoint: &report.note,
        log_key: &report.log_key,
        policy: policy_text.as_deref(),
        tiles: &tiles,
        auditors,
        attestations,
        generator: format!("headcount {}", env!("CARGO_PKG_VERSION")),
        created: crate::cmd::now(),
    };
    let built = headcount_evidence::build(&data, campaign, mode)?;
    let mut packet = built.packet;
    for s in &built.skipped {
        eprintln!("attestation left out: {s}");
    }
    let pdf_note = match &chromium {
        Some(c) => {
            let html = packet
                .file(headcount_evidence::files::REPORT_HTML)?
                .to_vec();
            let pdf = pdf::render(c, &html)?;
            let n = pdf.len();
            headcount_evidence::add_pdf(&mut packet, pdf);
            format!("report.pdf ({n} bytes, printed by {})", c.display())
        }
        None => "no PDF (--no-pdf): report.html only".into(),
    };
    let bytes = packet.to_zip()?;
    write_atomically(&a.out, &bytes)?;
    Ok(Exported {
        bytes: bytes.len(),
        packet,
        secs: started.elapsed().as_secs_f64(),
        trust_on_first_use: report.trust_on_first_use,
        pdf_note,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    // A packet is meant to be shared: readable by all, like any document.
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<()> {
    let started = Instant::now();
    let bytes = match std::fs::read(&a.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", a.file.display());
            std::process::exit(1);
        }
    };
    let mut pins = Pins {
        log_key: a.log_key.as_deref().map(key_arg).transpose()?,
        policy: None,
    };
    if let Some(p) = &a.policy {
        pins.policy =
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?);
    }
    match headcount_evidence::verify_bytes(&bytes, &pins, &BbsCredentials) {
        Ok(v) => {
            print_verified(&a.file, bytes.len(), &v, started.elapsed().as_secs_f64());
            Ok(())
        }
        Err(f) => {
            print_failure(&a.file, &f);
            std::process::exit(2);
        }
    }
}

fn print_failure(file: &Path, f: &Failure) {
    println!("packet     {}", file.display());
    println!("verdict    NOT VERIFIED ({}): {f}", f.code());
}

fn print_verified(file: &Path, len: usize, v: &Verified, secs: f64) {
    let c = &v.claims;
    let t = &c.tally;
    println!(
        "packet     {} ({} mode, {len} bytes), checked offline in {secs:.2}s",
        file.display(),
        v.mode.as_str()
    );
    for text in &c.campaign.texts {
        println!("campaign   [{}] {}", text.lang, text.title);
    }
    println!("campaign id {}", c.campaign.id);
    println!(
        "log        {} size {} root {}",
        v.checkpoint.origin, v.checkpoint.size.0, v.checkpoint.root
    );
    println!(
        "log key    {}  ({})",
        v.log_key,
        if v.log_key_pinned {
            "pinned on the command line"
        } else {
            "taken from the packet: compare it with the key the log publishes, or pass --log-key"
        }
    );
    match &v.policy {
        None => println!(
            "witnesses  none: no witness policy, the checkpoint rests on the log's signature alone"
        ),
        Some(_) => {
            println!(
                "witnesses  the checkpoint satisfies the witness policy ({})",
                if v.policy_pinned {
                    "pinned on the command line"
                } else {
                    "taken from the packet: pass --policy to pin it"
                }
            );
            for w in &v.cosigners {
                println!(
                    "  cosigned by {} at {}  key {}",
                    w.name,
                    headcount_evidence::fmt_time(w.timestamp),
                    w.vkey
                );
            }
        }
    }
    match v.mode {
        Mode::Full => {
            println!(
                "PROVEN     credible headcount {} = {} with a credential + {} vouched (distinct people at least {}), \
                 recomputed EXACTLY from all {} entries of the log: every tile against the checkpoint, every \
                 entry, signature and pseudonym proof with the log's rules",
                t.credible, t.credentialed, t.vouched, t.distinct_lower_bound, v.leaves_checked
            );
        }
        Mode::Compact => {
            println!(
                "PROVEN     AT LEAST {} valid declarations ({} with a credential + {} vouched): {} entries, each \
                 proved to be in the cosigned checkpoint's log and re-checked with the log's rules",
                t.credible, t.credentialed, t.vouched, v.leaves_checked
            );
            println!(
                "NOT PROVEN that no entry of the campaign (e.g. a later withdrawal) was left out: the packet does \
                 not hold the whole log. Exactness rests on the auditors' word below{}",
                if v.attestations.is_empty() {
                    " — and this packet has none"
                } else {
                    ""
                }
            );
        }
    }
    println!(
        "also       unverified {} (never counted); withdrawals {}; over bound {}",
        t.unverified, t.withdrawals, t.credentialed_over_bound
    );
    for a in &v.attestations {
        let attested = a
            .line
            .as_ref()
            .map_or("no line for this campaign".to_string(), |l| {
                format!("credible {}", l.credible)
            });
        let ours = a
            .recount
            .as_ref()
            .map_or("—".to_string(), |l| l.credible.to_string());
        println!(
            "auditor    {} (key {}) signed \"{}\" at tree size {}: {attested}; this packet's recount there: {ours}",
            a.auditor, a.vkey, a.verdict, a.tree_size
        );
        if let (Some(l), Some(r)) = (&a.line, &a.recount)
            && l.credible != r.credible
        {
            match v.mode {
                Mode::Compact => println!(
                    "  WARNING  the auditor counted {} from the whole log, this packet's entries give {}: \
                     the packet leaves entries of the campaign out (e.g. withdrawals) or the auditor is wrong; \
                     ask for a full packet to settle it",
                    l.credible, r.credible
                ),
                Mode::Full => println!(
                    "  WARNING  the auditor's figure ({}) is not what the whole log gives ({}): the packet's \
                     recount is exact, so this auditor signed a wrong count",
                    l.credible, r.credible
                ),
            }
        }
    }
    println!(
        "report     report.html shows exactly the verified figures{}",
        if v.pdf {
            "; report.pdf is a printing of it (not itself checked)"
        } else {
            "; no PDF in this packet"
        }
    );
    println!("verdict    VERIFIED");
}

/// The demo's step: export the appeal's packet (full mode, with the PDF when
/// Chromium is installed), then verify the file as an officer would, offline.
pub async fn demo_step(
    data: &Path,
    url: &str,
    campaign: CampaignId,
    log_key: &str,
    auditor_vkey: &str,
) -> Result<()> {
    let out = data.join("appeal-evidence.zip");
    let mut have_chromium = pdf::find(None).is_some();
    let mut args = ExportArgs {
        campaign: campaign.to_hex(),
        server: url.to_owned(),
        out: out.clone(),
        compact: false,
        log_key: Some(log_key.to_owned()),
        policy: Some(data.join("policy.txt")),
        auditor_key: vec![auditor_vkey.trim().to_owned()],
        no_pdf: !have_chromium,
        chromium: None,
        quiet: true,
    };
    let e = match export_packet(&args).await {
        Ok(e) => e,
        // A Chromium that is installed but cannot print here (no display
        // libraries, a sandbox) must not end the tour: the HTML report stands.
        Err(err) if have_chromium && format!("{err:#}").contains("Chromium") => {
            println!(
                "11. evidence    Chromium could not print the PDF ({err:#}); exporting without it"
            );
            have_chromium = false;
            args.no_pdf = true;
            export_packet(&args).await?
        }
        Err(err) => return Err(err),
    };
    println!(
        "11. evidence    the appeal's packet {} ({} bytes, full mode, {} attestation, {}) in {:.1}s",
        out.display(),
        e.bytes,
        e.packet.manifest.attestations.len(),
        if have_chromium {
            "HTML + PDF report"
        } else {
            "HTML report; no PDF: Chromium is not installed or could not print"
        },
        e.secs
    );
    let t = Instant::now();
    let bytes = std::fs::read(&out)?;
    let pins = Pins {
        log_key: Some(log_key.to_owned()),
        policy: Some(std::fs::read_to_string(data.join("policy.txt"))?),
    };
    let v = headcount_evidence::verify_bytes(&bytes, &pins, &BbsCredentials)
        .map_err(|f| anyhow::anyhow!("the packet does not verify ({}): {f}", f.code()))?;
    println!(
        "                verified offline in {:.1}s: credible {} recomputed from all {} entries, cosigned by {}, attested by {}",
        t.elapsed().as_secs_f64(),
        v.claims.tally.credible,
        v.leaves_checked,
        v.cosigners
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        v.attestations
            .iter()
            .map(|a| a.auditor.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "                an officer checks it with no network: headcount evidence verify {} --log-key '{log_key}'",
        out.display()
    );
    Ok(())
}
