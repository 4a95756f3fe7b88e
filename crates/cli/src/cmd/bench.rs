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
//! * credentialed (BBS pseudonym proofs): ingest and audit with the fast
//!   verifier beside the same with zkryptium (`credentials::reference`),
//!   batch verification of 1,000 proofs with and without an invalid one, and
//!   honest latency and success under a flood of invalid proofs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use headcount_audit::AuditOptions;
use headcount_core::{BbsCredentials, CampaignId, CredentialVerifier, Rejection};

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

/// Wall-clock time and CPU time from a start. On a shared machine the wall
/// clock measures the machine's load as much as our code; CPU time says what
/// the work cost: items per CPU-second is the rate per core, whatever else
/// runs. `Process` counts every thread of this process (the server, the
/// clients and the auditor all run here), `Thread` the calling thread only.
struct Stopwatch {
    wall: Instant,
    clock: rustix::time::ClockId,
    cpu: Duration,
}

impl Stopwatch {
    fn process() -> Self {
        Self::on(rustix::time::ClockId::ProcessCPUTime)
    }

    fn thread() -> Self {
        Self::on(rustix::time::ClockId::ThreadCPUTime)
    }

    fn on(clock: rustix::time::ClockId) -> Self {
        Stopwatch {
            wall: Instant::now(),
            clock,
            cpu: cpu_time(clock),
        }
    }

    /// Seconds of wall-clock time since the start.
    fn wall(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// Seconds of CPU time since the start.
    fn cpu(&self) -> f64 {
        cpu_time(self.clock).saturating_sub(self.cpu).as_secs_f64()
    }
}

fn cpu_time(clock: rustix::time::ClockId) -> Duration {
    let t = rustix::time::clock_gettime(clock);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
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
    let mut setup = vec![reg_bytes.clone()];
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
        setup.push(bytes);
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
    setup.push(batch);

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
    let watch = Stopwatch::process();
    let ingest = run_clients(n, a.concurrency.min(256), move |i| {
        let (c, e) = (c3.clone(), Arc::clone(&e3));
        async move {
            c.submit_ok(&e[i]).await?;
            Ok(())
        }
    })
    .await?;
    let ingest_rate = n as f64 / ingest.as_secs_f64();
    let ingest_cpu = n as f64 / watch.cpu();
    // Baseline: the same server code with zkryptium verifying each proof, on
    // a share of the same entries (it is ten times slower).
    let n_base = (n / 8).clamp(1, 400);
    let base_dir = tempfile::tempdir()?;
    let base = BaselineServer::start(base_dir.path(), &setup).await?;
    let (c4, e4) = (base.client.clone(), Arc::clone(&entries));
    let watch = Stopwatch::process();
    let base_ingest = run_clients(n_base, a.concurrency.min(256), move |i| {
        let (c, e) = (c4.clone(), Arc::clone(&e4));
        async move {
            c.submit_ok(&e[i]).await?;
            Ok(())
        }
    })
    .await?;
    let base_ingest_rate = n_base as f64 / base_ingest.as_secs_f64();
    let base_ingest_cpu = n_base as f64 / watch.cpu();
    base.log.shutdown();
    println!(
        "  ingest   {:>9.0} credentialed entries/s ({:.2}s; every proof verified before sequencing; zkryptium {:.0}/s on {n_base}, ratio {:.1})",
        ingest_rate,
        ingest.as_secs_f64(),
        base_ingest_rate,
        ingest_rate / base_ingest_rate
    );
    println!(
        "           {:>9.0} entries per CPU-second (server and clients together; zkryptium {:.0}, ratio {:.1})",
        ingest_cpu,
        base_ingest_cpu,
        ingest_cpu / base_ingest_cpu
    );
    let mut opts = AuditOptions::new(server.url.clone());
    opts.log_key = Some(server.log.vkey());
    let t = Instant::now();
    let watch = Stopwatch::process();
    let report = headcount_audit::audit(&opts, &BbsCredentials).await?;
    let audit = t.elapsed();
    let audit_cpu = report.entries as f64 / watch.cpu();
    if !report.verdict.agrees() {
        bail!("the audit did not agree: {:?}", report.verdict);
    }
    let audit_rate = report.entries as f64 / audit.as_secs_f64();
    // Baseline: the same audit of the same log with zkryptium verifying.
    let t = Instant::now();
    let watch = Stopwatch::process();
    let base_report = headcount_audit::audit(&opts, &ZkryptiumCredentials).await?;
    let base_audit = t.elapsed();
    let base_audit_cpu = base_report.entries as f64 / watch.cpu();
    if !base_report.verdict.agrees() {
        bail!(
            "the zkryptium audit did not agree: {:?}",
            base_report.verdict
        );
    }
    let base_audit_rate = base_report.entries as f64 / base_audit.as_secs_f64();
    println!(
        "  audit    {:>9.0} entries/s ({:.0}/s per core; {:.2}s for {} entries, every proof re-verified; zkryptium {:.0}/s, ratio {:.1}; ratio to Ed25519 verify {:.3})",
        audit_rate,
        audit_rate / threads as f64,
        audit.as_secs_f64(),
        report.entries,
        base_audit_rate,
        audit_rate / base_audit_rate,
        audit_rate / ed25519_rate
    );
    println!(
        "           {:>9.0} entries per CPU-second = per core (auditor and the server it reads; zkryptium {:.0}, ratio {:.1})",
        audit_cpu,
        base_audit_cpu,
        audit_cpu / base_audit_cpu
    );
    // Verification capacity: the batch rate of one core times the cores.
    let capacity = batch_figures(&entries, &sk, &campaigns, rid)? * threads as f64;
    flood(&client, &server.log, &creds, &pk, &campaigns, capacity).await?;
    server.stop().await?;
    Ok(())
}

/// The zkryptium verifier (`headcount_credentials::reference`) as a
/// [`CredentialVerifier`]: the baseline of the credentialed figures.
struct ZkryptiumCredentials;

impl CredentialVerifier for ZkryptiumCredentials {
    fn verify(
        &self,
        bbs_key: &[u8; 96],
        campaign: &CampaignId,
        header: &[u8; 32],
        registrar: &headcount_core::RegistrarId,
        period: headcount_core::Period,
        pseudonym: &headcount_core::Pseudonym,
        proof: &[u8],
    ) -> Result<(), Rejection> {
        let attrs = headcount_credentials::Attributes {
            registrar_id: registrar.0,
            period: period.0,
        };
        if headcount_credentials::reference::verify(
            bbs_key,
            &campaign.0,
            header,
            &attrs,
            &pseudonym.0,
            proof,
        ) {
            Ok(())
        } else {
            Err(Rejection::InvalidProof)
        }
    }

    fn check_public_key(&self, bbs_key: &[u8; 96]) -> Result<(), Rejection> {
        BbsCredentials.check_public_key(bbs_key)
    }
}

/// A log on loopback verifying with zkryptium, set up with `setup`.
struct BaselineServer {
    log: Arc<headcount_server::Log>,
    client: LogClient,
}

impl BaselineServer {
    async fn start(dir: &Path, setup: &[Vec<u8>]) -> Result<Self> {
        let (signer, _, _) =
            headcount_tlog::LogSigner::generate("bench-zkryptium.headcount.local/log")?;
        let log = headcount_server::Log::open(
            dir,
            signer,
            Arc::new(ZkryptiumCredentials),
            headcount_server::SequencerOptions {
                batch_interval: Duration::from_millis(100),
                ..Default::default()
            },
        )?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let client = LogClient::new(&format!("http://{}", listener.local_addr()?));
        tokio::spawn(headcount_server::serve(
            Arc::clone(&log),
            listener,
            std::future::pending(),
        ));
        for e in setup {
            client.submit_ok(e).await?;
        }
        Ok(BaselineServer { log, client })
    }
}

/// Batch verification of 1,000 proofs: all valid, and with one invalid
/// proof (made with a credential of another registrar key, so that only the
/// pairing check fails and bisection must find it).
fn batch_figures(
    entries: &[Vec<u8>],
    sk: &headcount_credentials::RegistrarSecretKey,
    campaigns: &[CampaignId],
    rid: headcount_core::RegistrarId,
) -> Result<f64> {
    use headcount_core::ProofToVerify;
    use headcount_core::entry::Entry;
    use headcount_credentials as bbs;
    let n = entries.len().min(1000);
    if n < 2 {
        bail!("the batch figures need at least 2 credentialed entries");
    }
    let decoded: Vec<Entry> = entries[..n]
        .iter()
        .map(|b| Entry::decode(b))
        .collect::<Result<_, _>>()?;
    let forged = {
        let other = bbs::RegistrarSecretKey::generate(&mut rand::rngs::OsRng);
        let attrs = bbs::Attributes {
            registrar_id: rid.0,
            period: headcount_core::Period::containing(crate::cmd::now()).0 - 1,
        };
        let nym = bbs::NymSecret::generate(&mut rand::rngs::OsRng);
        let (req, st) = bbs::request_credential(&nym, &mut rand::rngs::OsRng)?;
        let sig = bbs::issue(&other, &req, &attrs, &mut rand::rngs::OsRng)?;
        let cred = bbs::finish_credential(&other.public_key(), &sig, st, &nym, &attrs)?;
        headcount_core::credentials::declaration(
            &cred,
            &sk.public_key(),
            campaigns[0],
            headcount_core::EntryHash::NONE,
            "Forged",
            "",
            &mut rand::rngs::OsRng,
        )?
        .0
    };
    let key = sk.public_key().to_bytes();
    let presentations: Vec<_> = decoded.iter().filter_map(Entry::presentation).collect();
    let forged_p = forged.presentation().expect("a declaration");
    fn item<'a>(
        key: &'a [u8; 96],
        p: &'a headcount_core::entry::Presentation<'a>,
    ) -> ProofToVerify<'a> {
        ProofToVerify {
            bbs_key: key,
            campaign: p.campaign,
            header: &p.header,
            registrar: p.registrar,
            period: p.period,
            pseudonym: p.pseudonym,
            proof: p.proof,
        }
    }
    let valid: Vec<ProofToVerify<'_>> = presentations.iter().map(|p| item(&key, p)).collect();
    let mut one_bad = valid.clone();
    let k = n / 3;
    one_bad[k] = item(&key, &forged_p);
    // One thread: its CPU time is the cost on one core, however loaded the machine.
    let watch = Stopwatch::thread();
    let ok = BbsCredentials.verify_batch(&valid);
    let (t_valid, c_valid) = (watch.wall(), watch.cpu());
    let watch = Stopwatch::thread();
    let bad = BbsCredentials.verify_batch(&one_bad);
    let (t_bad, c_bad) = (watch.wall(), watch.cpu());
    if !ok.iter().all(Result::is_ok) {
        bail!("a valid proof failed in the batch");
    }
    let found: Vec<usize> = (0..n).filter(|&i| bad[i].is_err()).collect();
    if found != [k] {
        bail!("the batch did not single out the invalid proof: {found:?}");
    }
    let (r_valid, r_bad) = (n as f64 / t_valid, n as f64 / t_bad);
    let (cpu_valid, cpu_bad) = (n as f64 / c_valid, n as f64 / c_bad);
    // Baseline: zkryptium, one proof at a time, on a tenth of them.
    let m = (n / 10).max(1);
    let watch = Stopwatch::thread();
    for p in &valid[..m] {
        ZkryptiumCredentials.verify(
            p.bbs_key,
            p.campaign,
            p.header,
            p.registrar,
            p.period,
            p.pseudonym,
            p.proof,
        )?;
    }
    let (r_base, cpu_base) = (m as f64 / watch.wall(), m as f64 / watch.cpu());
    println!(
        "  batch    {r_valid:>9.0} proofs/s verifying {n} as one batch on one core (zkryptium {r_base:.0}/s, ratio {:.1}); with one invalid proof {r_bad:.0}/s ({:.0}% of all-valid), found at index {k}",
        r_valid / r_base,
        100.0 * r_bad / r_valid
    );
    println!(
        "           {cpu_valid:>9.0} proofs per CPU-second (zkryptium {cpu_base:.0}, ratio {:.1}); with one invalid proof {cpu_bad:.0} ({:.0}%)",
        cpu_valid / cpu_base,
        100.0 * cpu_bad / cpu_valid
    );
    Ok(r_valid)
}

/// Honest declarations while a flood of invalid proofs arrives at several
/// times the verification capacity: honest first-try success rate and
/// latency, without a flood, with a flood on another campaign, and with a
/// flood on the same campaign. The flood has more clients than a campaign's
/// share of the verification queue, so it is shed with 503s and its
/// attempts per second are bounded by HTTP, not by verification. (Flood and
/// honest clients run in this process, on the server's cores.)
async fn flood(
    client: &LogClient,
    log: &headcount_server::Log,
    creds: &[headcount_credentials::Credential],
    pk: &headcount_credentials::RegistrarPublicKey,
    campaigns: &[CampaignId],
    capacity: f64,
) -> Result<()> {
    const FLOODERS: usize = 2048;
    let honest_n = creds.len().min(150);
    // A fresh campaign per scenario, so that each honest declaration is its
    // pseudonym's first there (no predecessor to chain across scenarios).
    let rid = headcount_core::RegistrarId(creds[0].attributes().registrar_id);
    let now = crate::cmd::now();
    let mut fresh = Vec::new();
    for i in 0..4 {
        let spec = CampaignSpec {
            opens_at: (now - 3600).to_string(),
            closes_at: (now + 86_400).to_string(),
            unverified_difficulty: 0,
            min_anonymity: headcount_core::entry::limits::MIN_ANONYMITY,
            registrars: vec![rid.to_hex()],
            addressees: vec![],
            text: vec![TextSpec {
                lang: "en".into(),
                title: format!("Flood bench {i}"),
                statement: "Bench.".into(),
            }],
        };
        let (c, bytes) = campaign_entry(&spec, &SigningKey::generate(&mut rand::rngs::OsRng))?;
        client.submit_ok(&bytes).await?;
        fresh.push(c.id());
    }
    let mut scenarios = Vec::new();
    for (round, campaign) in fresh.iter().enumerate() {
        let entries: Vec<Vec<u8>> = (0..honest_n)
            .map(|i| {
                headcount_core::credentials::declaration(
                    &creds[i],
                    pk,
                    *campaign,
                    headcount_core::EntryHash::NONE,
                    &format!("Honest {round}"),
                    "",
                    &mut rand::rngs::OsRng,
                )
                .map(|(_, b)| b)
            })
            .collect::<Result<_, _>>()?;
        scenarios.push(entries);
    }
    // Invalid proofs that pass decoding: a valid declaration with its
    // challenge altered (the whole verification runs before it fails).
    let (template, _) = headcount_core::credentials::declaration(
        &creds[0],
        pk,
        campaigns[1],
        headcount_core::EntryHash::NONE,
        "Flood",
        "",
        &mut rand::rngs::OsRng,
    )?;
    let flood_entry = |campaign: CampaignId, i: u64| -> Vec<u8> {
        let headcount_core::entry::Entry::Declaration(mut d) = template.clone() else {
            unreachable!("built as a declaration")
        };
        d.campaign = campaign;
        let at = d.proof.len() - 8;
        d.proof[at..].copy_from_slice(&i.to_be_bytes());
        headcount_core::entry::Entry::Declaration(d).encode()
    };
    let policy = log.admission();
    println!(
        "  flood    honest clients: {honest_n} declarations, 16 at a time, one try each (computing busy work when asked); flood: {FLOODERS} clients sending invalid proofs and no work"
    );
    let labels = [
        "no flood",
        "flood on another campaign",
        "same campaign, no busy work",
        "same campaign, busy work",
    ];
    for (k, entries) in scenarios.into_iter().enumerate() {
        // Scenario 2 turns the work asked under load off, to compare; the
        // others keep the log's policy (16 bits by default).
        let busy_work_bits = if k == 2 { 0 } else { policy.busy_work_bits };
        log.set_admission(headcount_server::AdmissionPolicy {
            busy_work_bits,
            ..policy.clone()
        });
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let mut flooders = Vec::new();
        if k > 0 {
            let target = if k == 1 { campaigns[1] } else { fresh[k] };
            // Flooders never compute work: they send each body as it is.
            for f in 0..FLOODERS as u64 {
                let (c, stop, sent) = (client.clone(), Arc::clone(&stop), Arc::clone(&sent));
                let bodies: Vec<Vec<u8>> = (0..64)
                    .map(|j| flood_entry(target, f * 1_000_000 + j))
                    .collect();
                flooders.push(tokio::spawn(async move {
                    let mut j = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let _ = c.submit_with_work(&bodies[j % bodies.len()], None).await;
                        sent.fetch_add(1, Ordering::Relaxed);
                        j += 1;
                    }
                }));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let entries = Arc::new(entries);
        let results = Arc::new(std::sync::Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let sent0 = sent.load(Ordering::Relaxed);
        let (c2, e2, r2) = (client.clone(), Arc::clone(&entries), Arc::clone(&results));
        run_clients(entries.len(), 16, move |i| {
            let (c, e, r) = (c2.clone(), Arc::clone(&e2), Arc::clone(&r2));
            async move {
                let t = Instant::now();
                let ok = matches!(
                    c.submit(&e[i]).await,
                    Ok(crate::client::Submitted::Accepted(_))
                );
                r.lock().expect("results").push((ok, t.elapsed()));
                Ok(())
            }
        })
        .await?;
        let elapsed = t0.elapsed().as_secs_f64();
        let flood_rate = (sent.load(Ordering::Relaxed) - sent0) as f64 / elapsed;
        stop.store(true, Ordering::Relaxed);
        for f in flooders {
            let _ = f.await;
        }
        let results = results.lock().expect("results").clone();
        log.set_admission(policy.clone());
        let mut lat: Vec<Duration> = results.iter().filter(|r| r.0).map(|r| r.1).collect();
        lat.sort();
        let pct = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        let flood_note = if k == 0 {
            String::new()
        } else {
            format!(
                "; flood {flood_rate:.0} attempts/s = {:.1}x the verification capacity",
                flood_rate / capacity
            )
        };
        let flood_note = if busy_work_bits > 0 && k > 0 {
            format!("{flood_note}; {busy_work_bits} bits of work asked under load")
        } else {
            flood_note
        };
        println!(
            "           {:<28} honest success {:>5.1}%, latency p50 {:.0} ms, p99 {:.0} ms{flood_note}",
            labels[k],
            100.0 * lat.len() as f64 / results.len().max(1) as f64,
            pct(0.5),
            pct(0.99),
        );
    }
    Ok(())
}
