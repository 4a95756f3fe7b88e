//! `headcount bench`: whole-system throughput on this machine, with
//! baselines measured in the same run (these machines are shared and noisy,
//! so ratios mean more than absolute figures).
//!
//! * ingest: vouched declarations through `POST /v1/entries` from concurrent
//!   clients, each answered only once in a signed checkpoint; baseline: plain
//!   `GET /checkpoint` round trips at the same concurrency;
//! * audit: the full auditor over HTTP (download, verify tree, re-verify every
//!   signature, recompute every tally); baseline: Ed25519 verifications/s on
//!   all cores, the audit's dominant cost per entry;
//! * storage: bytes per entry of tiles + bundles, and of SQLite;
//! * storage at a steady trickle (one to three entries per round, the normal
//!   case for such a log): bytes per leaf of the static tree when partial
//!   tiles are pruned; baseline: the same trickle keeping every partial tile.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use headcount_audit::AuditOptions;
use headcount_core::{BbsCredentials, CampaignId};

use crate::client::LogClient;
use crate::cmd::campaign::{CampaignSpec, TextSpec, campaign_entry};
use crate::cmd::serve::InProcess;
use crate::cmd::{registrar, vouch};
use crate::config::ServerConfig;

#[derive(clap::Args)]
pub struct Args {
    /// Vouched declarations to ingest and audit.
    #[arg(long, default_value_t = 100_000)]
    pub entries: usize,
    /// Concurrent HTTP clients. Each waits for its entry's checkpoint, so
    /// throughput is about concurrency / (round interval + round time).
    #[arg(long, default_value_t = 2048)]
    pub concurrency: usize,
    /// Sequencer round interval, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub batch_interval_ms: u64,
    /// Credentialed declarations (BBS pseudonym proofs) to ingest and audit
    /// in a second log: 10 campaigns, each declared in by this/10 credentials.
    #[arg(long, default_value_t = 2000)]
    pub credentialed: usize,
    /// Leaves to append at a steady trickle (1 to 3 per round) for the
    /// storage figure, once pruning partial tiles and once keeping them; the
    /// growth per leaf is measured over the last 256 (one full tile's cycle).
    #[arg(long, default_value_t = 600)]
    pub trickle: usize,
}

fn dir_bytes(p: &Path) -> u64 {
    dir_usage(p).0
}

/// (bytes in files, bytes the file system allocated for files and folders).
fn dir_usage(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut len, mut allocated) = (0, 0);
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            allocated += md.blocks() * 512;
            if md.is_dir() {
                let (l, a) = dir_usage(&e.path());
                len += l;
                allocated += a;
            } else {
                len += md.len();
            }
        }
    }
    (len, allocated)
}

async fn run_clients<F, Fut>(n: usize, concurrency: usize, f: F) -> Result<Duration>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(n).max(1) {
        let (f, next) = (Arc::clone(&f), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                f(i).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(t.elapsed())
}

/// A log server on loopback tuned as the bench's arguments say.
async fn start_server(a: &Args, dir: &Path, origin: &str) -> Result<InProcess> {
    let config = ServerConfig {
        origin: Some(origin.into()),
        batch_interval_ms: Some(a.batch_interval_ms),
        max_batch: Some(8192),
        pool_capacity: Some(a.concurrency * 4),
        ..Default::default()
    };
    InProcess::start(dir, &config, "127.0.0.1:0".parse()?).await
}

pub async fn run(a: Args) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start_server(&a, dir.path(), "bench.headcount.local/log").await?;
    let client = LogClient::new(&server.url);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let client = LogClient { http, ..client };

    // Set-up: a registrar and an open campaign.
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
    let spec = CampaignSpec {
        opens_at: (now - 3600).to_string(),
        closes_at: (now + 86_400).to_string(),
        unverified_difficulty: 0,
        min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
        registrars: vec![reg.id().to_hex()],
        addressees: vec![],
        text: vec![TextSpec {
            lang: "en".into(),
            title: "Bench".into(),
            statement: "Bench.".into(),
        }],
    };
    let (campaign, bytes) = campaign_entry(&spec, &SigningKey::generate(&mut rand::rngs::OsRng))?;
    client.submit_ok(&bytes).await?;

    println!(
        "headcount bench: {} vouched declarations, {} concurrent clients, {} ms rounds\n",
        a.entries, a.concurrency, a.batch_interval_ms
    );
    let t = Instant::now();
    let entries: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..a.entries)
            .map(|i| {
                vouch::vouched_entry(
                    &keys.signing,
                    reg.id(),
                    campaign.id(),
                    &format!("p{i}"),
                    &format!("Bench {i}"),
                    "",
                )
            })
            .collect::<Result<_>>()?,
    );
    println!(
        "  prepared and signed {} entries in {:.2}s",
        a.entries,
        t.elapsed().as_secs_f64()
    );

    // Ingest.
    let (c3, e3) = (client.clone(), Arc::clone(&entries));
    let ingest = run_clients(a.entries, a.concurrency, move |i| {
        let (c, e) = (c3.clone(), Arc::clone(&e3));
        async move {
            c.submit_ok(&e[i]).await?;
            Ok(())
        }
    })
    .await?;
    let ingest_rate = a.entries as f64 / ingest.as_secs_f64();

    // Baseline: HTTP round trips on the same server and the same, now warm,
    // connections.
    let n_base = (a.entries / 2).max(1000);
    let c2 = client.clone();
    let base = run_clients(n_base, a.concurrency, move |_| {
        let c = c2.clone();
        async move {
            let r = c.http.get(format!("{}/checkpoint", c.base)).send().await?;
            crate::client::read_limited(r, 64 * 1024).await?;
            Ok(())
        }
    })
    .await?;
    let base_rate = n_base as f64 / base.as_secs_f64();

    println!(
        "  ingest   {:>9.0} entries/s  ({:.2}s; baseline GET /checkpoint {:.0} req/s, ratio {:.2})",
        ingest_rate,
        ingest.as_secs_f64(),
        base_rate,
        ingest_rate / base_rate
    );

    // Audit.
    let mut opts = AuditOptions::new(server.url.clone());
    opts.log_key = Some(server.log.vkey());
    opts.parallelism = 32;
    let t = Instant::now();
    let report = headcount_audit::audit(&opts, &BbsCredentials).await?;
    let audit = t.elapsed();
    if !report.verdict.agrees() {
        bail!("the audit did not agree: {:?}", report.verdict);
    }
    let audit_rate = report.entries as f64 / audit.as_secs_f64();
    // Baseline: raw Ed25519 verification on all cores.
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let sig =
        key.sign(b"baseline message of a typical entry's length, about a hundred bytes long....");
    let vk = key.verifying_key();
    let n_ver = 20_000;
    let t = Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..n_ver / threads {
                    let _ = vk.verify(b"baseline message of a typical entry's length, about a hundred bytes long....", &sig);
                }
            });
        }
    });
    let ver_rate = n_ver as f64 / t.elapsed().as_secs_f64();
    println!(
        "  audit    {:>9.0} entries/s  ({:.2}s for {} entries; baseline Ed25519 verify {:.0}/s on {} cores, ratio {:.2})",
        audit_rate,
        audit.as_secs_f64(),
        report.entries,
        ver_rate,
        threads,
        audit_rate / ver_rate
    );

    server.stop().await?;
    let tiles = dir_bytes(&dir.path().join("log"));
    let sqlite: u64 = ["state.sqlite", "state.sqlite-wal"]
        .iter()
        .map(|f| {
            std::fs::metadata(dir.path().join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    let n = report.entries as f64;
    println!(
        "  storage  {:>9.1} bytes/entry in tiles and bundles, {:.1} bytes/entry in SQLite (derived, rebuildable)",
        tiles as f64 / n,
        sqlite as f64 / n
    );
    println!(
        "  entry    {} bytes (a vouched declaration with a short alias)",
        entries[0].len()
    );
    if a.trickle > 0 {
        let setup = [reg_bytes.clone(), bytes.clone()];
        trickle(a.trickle, &setup, &keys, reg.id(), campaign.id()).await?;
    }
    if a.credentialed > 0 {
        credentialed(&a, ver_rate).await?;
    }
    Ok(())
}

/// The static tree's size per leaf under a steady trickle of rounds of one
/// to three entries: pruning partial tiles, and (baseline) keeping them.
async fn trickle(
    leaves: usize,
    setup: &[Vec<u8>],
    keys: &crate::keys::RegistrarKeys,
    registrar: headcount_core::RegistrarId,
    campaign: CampaignId,
) -> Result<()> {
    let mut figures = Vec::new();
    for keep in [true, false] {
        let dir = tempfile::tempdir()?;
        let config = ServerConfig {
            origin: Some("bench-trickle.headcount.local/log".into()),
            batch_interval_ms: Some(1),
            keep_partial_tiles: keep,
            ..Default::default()
        };
        let server = InProcess::start(dir.path(), &config, "127.0.0.1:0".parse()?).await?;
        let client = LogClient::new(&server.url);
        for e in setup {
            client.submit_ok(e).await?;
        }
        let t = Instant::now();
        let mut i = setup.len();
        let mut round = 0usize;
        let mark = leaves.saturating_sub(256).max(i);
        let mut at_mark = None;
        while i < leaves {
            if at_mark.is_none() && i >= mark {
                at_mark = Some((i, dir_usage(&dir.path().join("log"))));
            }
            let k = (1 + round % 3).min(leaves - i);
            let batch: Vec<Vec<u8>> = (i..i + k)
                .map(|j| {
                    vouch::vouched_entry(
                        &keys.signing,
                        registrar,
                        campaign,
                        &format!("t{j}"),
                        &format!("Trickle {j}"),
                        "",
                    )
                })
                .collect::<Result<_>>()?;
            let sent = batch.iter().map(|e| client.submit(e));
            for r in futures::future::join_all(sent).await {
                if !matches!(r?, crate::client::Submitted::Accepted(_)) {
                    bail!("the trickle log refused an entry");
                }
            }
            i += k;
            round += 1;
        }
        let elapsed = t.elapsed();
        server.stop().await?;
        let (len, allocated) = dir_usage(&dir.path().join("log"));
        let (from, (len0, allocated0)) = at_mark.unwrap_or((0, (0, 0)));
        let grown = (leaves - from).max(1) as f64;
        figures.push(Trickle {
            keep,
            growth: (len - len0) as f64 / grown,
            growth_disk: allocated.saturating_sub(allocated0) as f64 / grown,
            total: len as f64 / leaves as f64,
            rounds: round,
            elapsed,
        });
    }
    println!(
        "\n  storage at a steady trickle: {leaves} leaves in rounds of 1 to 3 entries; growth over the last 256 leaves"
    );
    for f in &figures {
        println!(
            "  {:<22} {:>8.1} bytes/leaf growth in files, {:>8.1} on disk; {:>8.1} bytes/leaf in all  ({} rounds in {:.1}s)",
            if f.keep {
                "keeping partial tiles"
            } else {
                "pruning partial tiles"
            },
            f.growth,
            f.growth_disk,
            f.total,
            f.rounds,
            f.elapsed.as_secs_f64()
        );
    }
    if let [kept, pruned] = &figures[..] {
        println!(
            "  ratio pruned/kept      {:>8.3} growth in files, {:>8.3} on disk",
            pruned.growth / kept.growth,
            pruned.growth_disk / kept.growth_disk
        );
    }
    Ok(())
}

/// One trickle run's figures.
struct Trickle {
    keep: bool,
    /// Bytes of files added per leaf over the last tile's cycle.
    growth: f64,
    /// The same, as allocated by the file system.
    growth_disk: f64,
    /// Bytes of files per leaf, in all.
    total: f64,
    rounds: usize,
    elapsed: Duration,
}

/// The credentialed scenario: blind issuance, pseudonym proofs, verification.
async fn credentialed(a: &Args, ed25519_rate: f64) -> Result<()> {
    use headcount_credentials as bbs;
    let dir = tempfile::tempdir()?;
    let server = start_server(a, dir.path(), "bench-credentialed.headcount.local/log").await?;
    let client = LogClient::new(&server.url);
    let sk = bbs::RegistrarSecretKey::generate(&mut rand::rngs::OsRng);
    let pk = sk.public_key();
    let keys = crate::keys::RegistrarKeys {
        signing: SigningKey::generate(&mut rand::rngs::OsRng),
        bbs_secret: None,
        bbs_public: pk.to_bytes(),
    };
    let (reg, reg_bytes) =
        registrar::registrar_entry(&keys, "Bench registrar", "Bench policy.", "")?;
    let headcount_core::entry::Entry::Registrar(reg) = reg else {
        bail!("registrar entry")
    };
    client.submit_ok(&reg_bytes).await?;
    let n_campaigns = 10usize;
    let per = a.credentialed.div_ceil(n_campaigns);
    let now = crate::cmd::now();
    let mut campaigns = Vec::new();
    for i in 0..n_campaigns {
        let spec = CampaignSpec {
            opens_at: (now - 3600).to_string(),
            closes_at: (now + 86_400).to_string(),
            unverified_difficulty: 0,
            min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
            registrars: vec![reg.id().to_hex()],
            addressees: vec![],
            text: vec![TextSpec {
                lang: "en".into(),
                title: format!("Bench {i}"),
                statement: "Bench.".into(),
            }],
        };
        let (c, bytes) = campaign_entry(&spec, &SigningKey::generate(&mut rand::rngs::OsRng))?;
        client.submit_ok(&bytes).await?;
        campaigns.push(c.id());
    }
    // Credentials of last month, logged now (at least the minimum anonymity set).
    let period = headcount_core::Period(headcount_core::Period::containing(now).0 - 1);
    let batch =
        headcount_core::entry::Entry::IssuancePeriod(headcount_core::entry::IssuancePeriod {
            registrar: reg.id(),
            period,
            size: (per as u32).max(headcount_core::entry::limits::MIN_ANONYMITY),
            signature: [0; 64],
        })
        .sign(&keys.signing)?
        .1;
    client.submit_ok(&batch).await?;

    println!(
        "\n  credentialed: {per} credentials x {n_campaigns} campaigns = {} declarations",
        per * n_campaigns
    );
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // Blind issuance: request, issue, finish.
    let t = Instant::now();
    let rid = reg.id();
    let creds: Vec<bbs::Credential> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let sk = sk.clone();
                s.spawn(move || -> Result<Vec<bbs::Credential>> {
                    let mut out = Vec::new();
                    for _ in (k..per).step_by(threads) {
                        let nym = bbs::NymSecret::generate(&mut rand::rngs::OsRng);
                        let (req, st) = bbs::request_credential(&nym, &mut rand::rngs::OsRng)?;
                        let attrs = bbs::Attributes {
                            registrar_id: rid.0,
                            period: period.0,
                        };
                        let sig = bbs::issue(&sk, &req, &attrs, &mut rand::rngs::OsRng)?;
                        out.push(bbs::finish_credential(
                            &sk.public_key(),
                            &sig,
                            st,
                            &nym,
                            &attrs,
                        )?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("issuance thread"))
            .collect::<Result<Vec<_>>>()
            .map(|v| v.concat())
    })?;
    let issue_s = t.elapsed().as_secs_f64();
    // Proof generation.
    let t = Instant::now();
    let jobs: Vec<(usize, CampaignId)> = (0..creds.len())
        .flat_map(|i| campaigns.iter().map(move |c| (i, *c)))
        .collect();
    let entries: Vec<Vec<u8>> = std::thread::scope(|s| {
        let chunks: Vec<&[(usize, CampaignId)]> =
            jobs.chunks(jobs.len().div_ceil(threads).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let creds = &creds;
                s.spawn(move || -> Result<Vec<Vec<u8>>> {
                    chunk
                        .iter()
                        .map(|(i, c)| {
                            let (_, b) = headcount_core::credentials::declaration(
                                &creds[*i],
                                &pk,
                                *c,
                                headcount_core::EntryHash::NONE,
                                "Bench",
                                "",
                                &mut rand::rngs::OsRng,
                            )?;
                            Ok(b)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("proof thread"))
            .collect::<Result<Vec<_>>>()
            .map(|v| v.concat())
    })?;
    let prove_s = t.elapsed().as_secs_f64();
    let n = entries.len();
    println!(
        "  issuance {:>9.1} ms per credential (request + blind issue + finish; {threads} threads: {:.0}/s)",
        issue_s * 1000.0 * threads as f64 / per as f64,
        per as f64 / issue_s
    );
    println!(
        "  proving  {:>9.1} ms per declaration proof ({threads} threads: {:.0}/s); proof {} bytes, entry {} bytes",
        prove_s * 1000.0 * threads as f64 / n as f64,
        n as f64 / prove_s,
        bbs::PROOF_LEN,
        entries[0].len()
    );
    let entries = Arc::new(entries);
    let (c3, e3) = (client.clone(), Arc::clone(&entries));
    let ingest = run_clients(n, a.concurrency.min(256), move |i| {
        let (c, e) = (c3.clone(), Arc::clone(&e3));
        async move {
            c.submit_ok(&e[i]).await?;
            Ok(())
        }
    })
    .await?;
    let ingest_rate = n as f64 / ingest.as_secs_f64();
    println!(
        "  ingest   {:>9.0} credentialed entries/s ({:.2}s; every proof verified before sequencing)",
        ingest_rate,
        ingest.as_secs_f64()
    );
    let mut opts = AuditOptions::new(server.url.clone());
    opts.log_key = Some(server.log.vkey());
    let t = Instant::now();
    let report = headcount_audit::audit(&opts, &BbsCredentials).await?;
    let audit = t.elapsed();
    if !report.verdict.agrees() {
        bail!("the audit did not agree: {:?}", report.verdict);
    }
    let audit_rate = report.entries as f64 / audit.as_secs_f64();
    println!(
        "  audit    {:>9.0} entries/s ({:.2}s for {} entries, every proof re-verified; ratio to Ed25519 verify {:.3})",
        audit_rate,
        audit.as_secs_f64(),
        report.entries,
        audit_rate / ed25519_rate
    );
    server.stop().await?;
    Ok(())
}
