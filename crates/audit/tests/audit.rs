//! End-to-end: a real server in-process over loopback HTTP, audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use futures::StreamExt;
use headcount_audit::{
    AuditOptions, AuditReport, Finding, OverBound, Verdict, audit, verify_receipt,
};
use headcount_core::credentials::{self, BbsCredentials};
use headcount_core::entry::Entry;
use headcount_core::{
    CampaignId, CampaignTally, CredentialVerifier, Leaf, NoCredentials, RegistrarId, Timestamp,
    testkit,
};
use headcount_credentials as bbs;
use headcount_server::tiles::FsTiles;
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::{
    Appender, Checkpoint, LogSigner, TileReader, TreeSize, decode_bundle, tiles_for_size,
};
use rand::rngs::OsRng;
use tokio::sync::oneshot;

const ORIGIN: &str = "audit.test/log";
const DIFFICULTY: u8 = 6;

struct Server {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    log: Option<Arc<Log>>,
}

impl Server {
    async fn start(dir: &Path, skey: &str) -> Server {
        Self::start_with(dir, skey, Arc::new(NoCredentials)).await
    }

    async fn start_with(
        dir: &Path,
        skey: &str,
        credentials: Arc<dyn CredentialVerifier + Send + Sync>,
    ) -> Server {
        let signer = LogSigner::from_skey(skey).unwrap();
        let log = Log::open(
            dir,
            signer,
            credentials,
            SequencerOptions {
                batch_interval: Duration::from_millis(20),
                ..SequencerOptions::default()
            },
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let l = Arc::clone(&log);
        let task = tokio::spawn(async move {
            headcount_server::serve(l, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            url,
            stop: Some(tx),
            task: Some(task),
            log: Some(log),
        }
    }

    /// Stops serving and releases the data directory.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
        let log = self.log.take().unwrap();
        // Stops the sequencer thread, which holds the log while it waits.
        log.shutdown();
        // Connection tasks may still be dropping their clones of the log
        // (and so holding its directory lock) just after `serve` returns.
        for _ in 0..500 {
            if Arc::strong_count(&log) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(Arc::strong_count(&log), 1, "the log is still in use");
        drop(log);
    }
}

struct Fixture {
    registrar_key: SigningKey,
    registrar: RegistrarId,
    campaign: CampaignId,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn fixture_entries() -> (Fixture, Vec<Vec<u8>>) {
    let registrar_key = testkit::test_key(7);
    let (reg, reg_bytes) = testkit::registrar(&registrar_key, [0; 96], "Registrar");
    let Entry::Registrar(r) = &reg else {
        unreachable!()
    };
    let registrar = r.id();
    let organiser = testkit::test_key(9);
    let opens = Timestamp::coarse(now() - 3600).0;
    let (camp, camp_bytes) = testkit::campaign(
        &organiser,
        vec![registrar],
        opens,
        now() + 86_400,
        DIFFICULTY,
    );
    let Entry::Campaign(c) = &camp else {
        unreachable!()
    };
    let campaign = c.id();
    let (_, batch_bytes) = testkit::period(
        &registrar_key,
        registrar,
        headcount_core::Period(headcount_core::Period::containing(now()).0 - 1),
        1000,
    );
    (
        Fixture {
            registrar_key,
            registrar,
            campaign,
        },
        vec![reg_bytes, batch_bytes, camp_bytes],
    )
}

fn vouched(f: &Fixture, i: u32) -> Vec<u8> {
    let mut reference = [0u8; 32];
    reference[..4].copy_from_slice(&i.to_be_bytes());
    testkit::vouched(
        &f.registrar_key,
        f.registrar,
        f.campaign,
        reference,
        &format!("voter-{i:05}"),
    )
    .1
}

fn unverified(f: &Fixture, i: u32) -> Vec<u8> {
    testkit::unverified(f.campaign, &format!("anon-{i:05}"), DIFFICULTY).1
}

/// Submits entries concurrently; returns the receipts as JSON.
async fn submit_all(url: &str, entries: Vec<Vec<u8>>) -> Vec<serde_json::Value> {
    let client = reqwest::Client::new();
    futures::stream::iter(entries)
        .map(|e| {
            let client = client.clone();
            async move {
                let r = client
                    .post(format!("{url}/v1/entries"))
                    .header("content-type", "application/octet-stream")
                    .body(e)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
                r.json::<serde_json::Value>().await.unwrap()
            }
        })
        .buffer_unordered(64)
        .collect()
        .await
}

/// A server with 3 setup entries, `vouched` vouched and `unverified` unverified declarations.
async fn populated(dir: &Path, skey: &str, vouched_n: u32, unverified_n: u32) -> (Server, Fixture) {
    let server = Server::start(dir, skey).await;
    let (f, setup) = fixture_entries();
    for e in setup {
        submit_all(&server.url, vec![e]).await;
    }
    let mut entries: Vec<Vec<u8>> = (0..vouched_n).map(|i| vouched(&f, i)).collect();
    entries.extend((0..unverified_n).map(|i| unverified(&f, i)));
    submit_all(&server.url, entries).await;
    (server, f)
}

fn opts(url: &str, vkey: &str) -> AuditOptions {
    AuditOptions {
        log_key: Some(vkey.to_owned()),
        parallelism: 8,
        ..AuditOptions::new(url)
    }
}

async fn run(o: &AuditOptions) -> AuditReport {
    audit(o, &NoCredentials).await.unwrap()
}

fn keys() -> (String, String) {
    let (_, skey, vkey) = LogSigner::generate(ORIGIN).unwrap();
    (skey, vkey)
}

fn full_tiles(size: u64) -> u64 {
    tiles_for_size(TreeSize(size))
        .iter()
        .filter(|t| t.is_full())
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agrees_with_an_honest_log_and_counts_right() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, f) = populated(dir.path(), &skey, 40, 5).await;
    let r = run(&opts(&server.url, &vkey)).await;
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.entries, 48);
    assert_eq!(r.checkpoint.as_ref().unwrap().size, TreeSize(48));
    assert!(!r.trust_on_first_use);
    assert_eq!(r.tallies.len(), 1);
    let t = &r.tallies[0];
    assert_eq!(t.campaign, f.campaign);
    assert_eq!(
        (t.vouched, t.credible, t.unverified, t.credentialed),
        (40, 40, 5, 0)
    );
    assert!(r.published_compared >= 2, "{}", r.published_compared);
    assert!(r.over_bound.is_empty());

    // Trust on first use: the key comes from the server.
    let tofu = run(&AuditOptions::new(server.url.clone())).await;
    assert!(tofu.trust_on_first_use);
    assert_eq!(tofu.log_key, vkey);
    assert_eq!(tofu.verdict, Verdict::Agrees);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_log_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let server = Server::start(dir.path(), &skey).await;
    let r = run(&opts(&server.url, &vkey)).await;
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!((r.entries, r.fetch.tiles), (0, 0));
    assert!(r.tallies.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_log_key_is_a_bad_checkpoint_signature() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, _) = keys();
    let (_, other_vkey) = keys(); // same origin, another key
    let (server, _) = populated(dir.path(), &skey, 3, 0).await;
    let r = run(&opts(&server.url, &other_vkey)).await;
    assert!(
        matches!(
            r.verdict,
            Verdict::Differs(Finding::BadCheckpointSignature { .. })
        ),
        "{:?}",
        r.verdict
    );
    assert!(r.checkpoint.is_none());
    // A malformed key is an error, not a finding.
    assert!(
        audit(&opts(&server.url, "nonsense"), &NoCredentials)
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_cache_and_checks_consistency() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, f) = populated(dir.path(), &skey, 300, 0).await;
    let o = AuditOptions {
        cache_dir: Some(cache.path().to_owned()),
        ..opts(&server.url, &vkey)
    };
    let first = run(&o).await;
    assert_eq!(first.verdict, Verdict::Agrees, "{:?}", first.verdict);
    let full = full_tiles(303);
    assert!(full >= 2);
    assert_eq!(first.fetch.fetched_full, full);
    assert_eq!(first.fetch.from_cache, 0);

    let second = run(&o).await;
    assert_eq!(second.verdict, Verdict::Agrees);
    assert_eq!(second.fetch.fetched_full, 0, "{:?}", second.fetch);
    assert_eq!(second.fetch.from_cache, full);
    assert_eq!(second.fetch.fetched_partial, second.fetch.tiles - full);
    assert_eq!(second.previous.as_ref().unwrap().size, TreeSize(303));

    // The log grows; the next run checks it extends the checkpoint it agreed with.
    submit_all(&server.url, (300..520).map(|i| vouched(&f, i)).collect()).await;
    let third = run(&o).await;
    assert_eq!(third.verdict, Verdict::Agrees, "{:?}", third.verdict);
    assert_eq!(third.entries, 523);
    assert_eq!(third.previous.as_ref().unwrap().size, TreeSize(303));
    assert_eq!(third.fetch.from_cache, full);

    // A damaged cache is refetched, not blamed on the log.
    let origin_dir = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let cached = origin_dir.join("tile/entries/000");
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&cached, bytes).unwrap();
    let fourth = run(&o).await;
    assert_eq!(fourth.verdict, Verdict::Agrees, "{:?}", fourth.verdict);
    server.stop().await;
}

/// Replaces `from` by `to` (same length) in the first bundle file that has it.
fn patch_bundle(dir: &Path, from: &[u8], to: &[u8]) -> PathBuf {
    let path = dir.join("log/tile/entries/000");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    bytes[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_bundle_is_a_tree_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, _) = populated(dir.path(), &skey, 260, 0).await;
    server.stop().await;
    patch_bundle(dir.path(), b"voter-00123", b"voter-00X23");
    let server = Server::start(dir.path(), &skey).await;
    let r = run(&opts(&server.url, &vkey)).await;
    match &r.verdict {
        Verdict::Differs(Finding::TreeMismatch { tile, .. }) => {
            assert_eq!(tile.as_deref(), Some("tile/entries/000"));
        }
        v => panic!("{v:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_tally_is_found_at_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, f) = populated(dir.path(), &skey, 10, 0).await;
    // A few more rounds, so the tally has a history.
    for i in 10..14 {
        submit_all(&server.url, vec![vouched(&f, i)]).await;
    }
    server.stop().await;

    let db = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
    let rows: Vec<(i64, String)> = {
        let mut st = db
            .prepare("SELECT tree_size, json FROM tallies WHERE campaign = ?1 ORDER BY tree_size")
            .unwrap();
        st.query_map([&f.campaign.0[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(rows.len() >= 3, "{rows:?}");
    let (size, json) = rows[rows.len() - 2].clone();
    let mut t: CampaignTally = serde_json::from_str(&json).unwrap();
    t.vouched += 1000;
    t.credible += 1000;
    db.execute(
        "UPDATE tallies SET json = ?1 WHERE campaign = ?2 AND tree_size = ?3",
        rusqlite::params![serde_json::to_string(&t).unwrap(), &f.campaign.0[..], size],
    )
    .unwrap();
    drop(db);

    let server = Server::start(dir.path(), &skey).await;
    let r = run(&opts(&server.url, &vkey)).await;
    match &r.verdict {
        Verdict::Differs(Finding::TallyDiffers {
            campaign,
            tree_size,
            ours,
            theirs,
        }) => {
            assert_eq!(*campaign, f.campaign);
            assert_eq!(*tree_size, size as u64);
            assert_eq!(
                theirs.as_ref().unwrap().vouched,
                ours.as_ref().unwrap().vouched + 1000
            );
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(r.entries, size as u64);
    server.stop().await;
}

/// Every leaf of the stored log of `size`.
fn read_leaves(dir: &Path, size: u64) -> Vec<Vec<u8>> {
    let tiles = FsTiles::new(dir.join("log"));
    let mut out = Vec::new();
    for id in tiles_for_size(TreeSize(size))
        .into_iter()
        .filter(|t| t.level.is_none())
    {
        let b = tiles.read_tile(id).unwrap();
        out.extend(decode_bundle(&b).unwrap().into_iter().map(<[u8]>::to_vec));
    }
    out
}

/// Writes a whole log (tiles, bundles, signed checkpoint) into `dir`, as a
/// dishonest operator with the key could.
fn write_log(dir: &Path, skey: &str, leaves: &[Vec<u8>]) {
    let signer = LogSigner::from_skey(skey).unwrap();
    let tiles = FsTiles::new(dir.join("log"));
    let out = Appender::empty().append(leaves).unwrap();
    for (id, data) in &out.tiles {
        tiles.write_tile(*id, data).unwrap();
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: out.size,
        root: out.root,
        extensions: vec![],
    };
    tiles.write_checkpoint(&signer.sign(&cp).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_log_with_a_forged_entry_names_the_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, _) = populated(dir.path(), &skey, 20, 0).await;
    let size = server.log.as_ref().unwrap().committed().size;
    server.stop().await;
    // The operator edits an alias and re-signs the tree: the registrar's
    // signature on that entry no longer verifies.
    let mut leaves = read_leaves(dir.path(), size);
    let index = leaves
        .iter()
        .position(|l| l.windows(11).any(|w| w == b"voter-00007"))
        .unwrap();
    let l = &mut leaves[index];
    let at = l.windows(11).position(|w| w == b"voter-00007").unwrap();
    l[at + 6] = b'9';
    write_log(dir.path(), &skey, &leaves);
    let server = Server::start(dir.path(), &skey).await;
    let r = run(&opts(&server.url, &vkey)).await;
    assert_eq!(
        r.verdict,
        Verdict::Differs(Finding::InvalidEntry {
            index: index as u64,
            code: "bad_signature",
            message: "the signature does not verify".into(),
        })
    );
    assert_eq!(r.entries, index as u64);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (server, f) = populated(dir.path(), &skey, 5, 0).await;
    let entry = vouched(&f, 99);
    let receipt = submit_all(&server.url, vec![entry.clone()]).await.remove(0);
    let proof = receipt["proof"].as_str().unwrap();
    let (index, cp) = verify_receipt(&entry, proof.as_bytes(), &vkey).unwrap();
    assert_eq!(index.0, receipt["leaf_index"].as_u64().unwrap());
    assert_eq!(cp.size.0, receipt["tree_size"].as_u64().unwrap());
    // Another entry, another key: refused.
    assert!(verify_receipt(&vouched(&f, 98), proof.as_bytes(), &vkey).is_err());
    assert!(verify_receipt(&entry, proof.as_bytes(), &keys().1).is_err());
    server.stop().await;
}

/// Throughput: `cargo test --release -p headcount-audit --test audit -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test; run in release"]
async fn throughput_20k_vouched() {
    let n: u32 = std::env::var("AUDIT_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (f, setup) = fixture_entries();
    let ts = Timestamp::coarse(now());
    let leaves: Vec<Vec<u8>> = setup
        .into_iter()
        .chain((0..n).map(|i| vouched(&f, i)))
        .map(|entry| {
            Leaf {
                timestamp: ts,
                entry,
            }
            .encode()
        })
        .collect();
    write_log(dir.path(), &skey, &leaves);
    let server = Server::start(dir.path(), &skey).await;
    let started = Instant::now();
    let r = run(&opts(&server.url, &vkey)).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.tallies[0].vouched, u64::from(n));
    println!(
        "audited {} entries in {secs:.2} s: {:.0} entries/s ({} tiles, {} bytes)",
        r.entries,
        r.entries as f64 / secs,
        r.fetch.tiles,
        r.fetch.bytes_fetched
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentialed_log_reports_over_bound_registrar() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let server = Server::start_with(dir.path(), &skey, Arc::new(BbsCredentials)).await;
    let reg_key = testkit::test_key(3);
    let sk = testkit::bbs_secret(4);
    let pk = sk.public_key();
    let (Entry::Registrar(r), rb) = testkit::registrar(&reg_key, pk.to_bytes(), "R") else {
        unreachable!()
    };
    let rid = r.id();
    let opens = Timestamp::coarse(now() - 3600).0;
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&testkit::test_key(5), vec![rid], opens, now() + 86_400, 0)
    else {
        unreachable!()
    };
    // The registrar logs last month with the minimum of 100 credentials but
    // issues 101 in it.
    let month = headcount_core::Period(headcount_core::Period::containing(now()).0 - 1);
    let (_, bb) = testkit::period(&reg_key, rid, month, 100);
    for e in [rb, bb, cb] {
        submit_all(&server.url, vec![e]).await;
    }
    let declarations: Vec<Vec<u8>> = (0..101)
        .map(|i| {
            let nym = bbs::NymSecret::generate(&mut OsRng);
            let (req, st) = bbs::request_credential(&nym, &mut OsRng).unwrap();
            let attrs = bbs::Attributes {
                registrar_id: rid.0,
                period: month.0,
            };
            let sig = bbs::issue(&sk, &req, &attrs, &mut OsRng).unwrap();
            let cred = bbs::finish_credential(&pk, &sig, st, &nym, &attrs).unwrap();
            credentials::declaration(
                &cred,
                &pk,
                c.id(),
                headcount_core::EntryHash::NONE,
                &format!("D{i}"),
                "",
                &mut OsRng,
            )
            .unwrap()
            .1
        })
        .collect();
    submit_all(&server.url, declarations).await;

    let o = opts(&server.url, &vkey);
    let r = audit(&o, &BbsCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(
        r.over_bound,
        vec![OverBound {
            campaign: c.id(),
            registrar: rid,
            period: month,
            declarations: 101,
            size: 100,
        }]
    );
    let t = &r.tallies[0];
    assert_eq!(
        (t.credentialed, t.credentialed_over_bound, t.credible),
        (0, 101, 0)
    );

    // An auditor without credential support cannot accept the declarations.
    let r = audit(&o, &NoCredentials).await.unwrap();
    match r.verdict {
        Verdict::Differs(Finding::InvalidEntry { index, code, .. }) => {
            assert_eq!((index, code), (3, "unsupported_entry"));
        }
        v => panic!("{v:?}"),
    }
    server.stop().await;
}

/// A static mirror or CDN serves the tiles as plain files and may still hand
/// out an older checkpoint, whose partial tiles the log has deleted since
/// (their full tiles exist). The auditor fetches the full tile instead, as
/// C2SP tlog-tiles tells clients to, and the audit agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_mirror_without_the_old_partial_tiles_still_audits() {
    use axum::extract::{Path as UrlPath, Request, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    let dir = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let (srv, f) = populated(dir.path(), &skey, 97, 0).await;
    let old = srv.log.as_ref().unwrap().committed();
    assert_eq!(old.size, 100);
    submit_all(&srv.url, (1000..1300).map(|i| vouched(&f, i)).collect()).await;
    // The old tree's partial tiles are gone from the disk.
    let tiles = dir.path().join("log");
    assert!(!tiles.join("tile/0/000.p").exists());
    assert!(!tiles.join("tile/entries/000.p").exists());
    assert!(tiles.join("tile/0/000").is_file());

    #[derive(Clone)]
    struct Mirror {
        tiles: PathBuf,
        note: Arc<Vec<u8>>,
        origin: String,
    }
    async fn tile(State(m): State<Mirror>, UrlPath(path): UrlPath<String>) -> Response {
        match std::fs::read(m.tiles.join("tile").join(path)) {
            Ok(b) => b.into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    }
    async fn proxy(State(m): State<Mirror>, req: Request) -> Response {
        let url = format!("{}{}", m.origin, req.uri());
        let r = reqwest::get(url).await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        (status, r.bytes().await.unwrap().to_vec()).into_response()
    }
    let mirror = Mirror {
        tiles: tiles.clone(),
        note: Arc::new(old.note.as_ref().clone()),
        origin: srv.url.clone(),
    };
    let app = axum::Router::new()
        .route(
            "/checkpoint",
            axum::routing::get(|State(m): State<Mirror>| async move { m.note.as_ref().clone() }),
        )
        .route("/tile/{*path}", axum::routing::get(tile))
        .fallback(proxy)
        .with_state(mirror);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Nothing served by the mirror comes from a partial tile file.
    let r = reqwest::get(format!("{url}/tile/0/000.p/100"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let report = run(&opts(&url, &vkey)).await;
    assert!(report.verdict.agrees(), "{:?}", report.verdict);
    assert_eq!(report.checkpoint.as_ref().unwrap().size.0, 100);
    assert_eq!(report.tallies[0].vouched, 97);
    served.abort();
    srv.stop().await;
}

/// A hostile server answering with an endless body (announced or not) does not make the
/// auditor buffer it: the audit fails with a clear error once the body passes the limit.
#[tokio::test]
async fn an_endless_response_body_is_refused_not_buffered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for announced in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req).await;
            let head = if announced {
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", 1u64 << 40)
            } else {
                "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_owned()
            };
            if s.write_all(head.as_bytes()).await.is_err() {
                return 0u64;
            }
            // Stream zeros until the client hangs up (or 1 GiB, far past the limit).
            let chunk = vec![0u8; 1 << 16];
            let mut sent = 0u64;
            while sent < (1 << 30) && s.write_all(&chunk).await.is_ok() {
                sent += chunk.len() as u64;
            }
            sent
        });
        let (_, vkey) = keys();
        let e = audit(&opts(&url, &vkey), &NoCredentials)
            .await
            .expect_err("the audit fails");
        assert!(e.to_string().contains("larger than"), "{e}");
        let sent = server.await.unwrap();
        assert!(
            sent <= 2 * headcount_audit::MAX_BODY as u64,
            "the client read {sent} bytes"
        );
    }
}
