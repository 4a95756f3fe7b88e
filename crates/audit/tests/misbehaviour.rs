//! A misbehaving operator, caught: real log servers and real witnesses
//! (headcount-witness, in-process) over loopback, real data directories.
//!
//! * a fork: two copies of one data directory, grown apart under the same
//!   log key; the witness refuses the second (422), the monitor following the
//!   first alarms when pointed at the second, and `compare` flags a split view;
//! * a rollback: an older copy of the data directory restored; the monitor
//!   alarms and the witness answers 409 with its larger size;
//! * a signed tally note its log does not support;
//! * and the honest case: a witnessed log followed round after round.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use headcount_audit::{
    AuditOptions, AuditReport, Finding, Monitor, MonitorOptions, Policy, TallyNoteStatus, Vantage,
    Verdict, audit,
};
use headcount_core::entry::Entry;
use headcount_core::notes::CountsNote;
use headcount_core::{CampaignId, NoCredentials, RegistrarId, Timestamp, testkit};
use headcount_cosignature::CosignatureSigner;
use headcount_server::tiles::FsTiles;
use headcount_server::{Log, SequencerOptions, WitnessingOptions};
use headcount_tlog::{LogSigner, LogVerifier, TreeSize, consistency_proof};
use headcount_witness::{ClientError, Witness, WitnessConfig, add_checkpoint};
use tokio::sync::oneshot;

const ORIGIN: &str = "misbehaviour.test/log";
const DIFFICULTY: u8 = 4;

// ---------------------------------------------------------------- servers

struct Server {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    log: Option<Arc<Log>>,
}

impl Server {
    /// A log server on `dir`; with a policy, it collects cosignatures from
    /// the policy's witnesses for every checkpoint.
    ///
    /// Each server runs on its own runtime, dropped when it stops: the
    /// server's witnessing stage holds the log until its channel closes, and
    /// that channel lives in the log, so only dropping the runtime (and the
    /// stage's task with it) releases the data directory for a restart.
    async fn start(dir: &Path, skey: &str, policy: Option<&Policy>) -> Server {
        let (dir, skey, policy) = (dir.to_owned(), skey.to_owned(), policy.cloned());
        let (ready_tx, ready_rx) = oneshot::channel::<(String, Arc<Log>)>();
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let log = Log::open(
                    &dir,
                    LogSigner::from_skey(&skey).unwrap(),
                    Arc::new(NoCredentials),
                    SequencerOptions {
                        batch_interval: Duration::from_millis(20),
                        ..SequencerOptions::default()
                    },
                )
                .unwrap();
                if let Some(p) = policy {
                    log.start_witnessing(WitnessingOptions {
                        policy: p,
                        timeout: Duration::from_secs(5),
                    });
                }
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                assert!(ready_tx.send((url, Arc::clone(&log))).is_ok());
                headcount_server::serve(log, listener, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
            rt.shutdown_timeout(Duration::from_secs(5));
        });
        let (url, log) = ready_rx.await.unwrap();
        Server {
            url,
            stop: Some(tx),
            thread: Some(thread),
            log: Some(log),
        }
    }

    fn size(&self) -> u64 {
        self.log.as_ref().unwrap().committed().size
    }

    /// Stops serving and releases the data directory.
    async fn stop(mut self) {
        let log = self.log.take().unwrap();
        log.shutdown();
        drop(log);
        let _ = self.stop.take().unwrap().send(());
        let thread = self.thread.take().unwrap();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
}

struct WitnessServer {
    url: String,
    witness: Arc<Witness>,
    vkey: String,
    _stop: oneshot::Sender<()>,
}

async fn start_witness(dir: &Path, name: &str, log_vkey: &str) -> WitnessServer {
    let (_, skey, vkey) = CosignatureSigner::generate(name).unwrap();
    let config = WitnessConfig::from_skey(&skey)
        .unwrap()
        .with_log(ORIGIN, log_vkey)
        .unwrap();
    let witness = Arc::new(Witness::open(config, dir).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(headcount_witness::serve_on(
        Arc::clone(&witness),
        listener,
        async {
            let _ = rx.await;
        },
    ));
    WitnessServer {
        url,
        witness,
        vkey,
        _stop: tx,
    }
}

fn policy_of(log_vkey: &str, witnesses: &[(&str, &WitnessServer)]) -> Policy {
    let mut text = format!("log {log_vkey}\n");
    for (name, w) in witnesses {
        text.push_str(&format!("witness {name} {} {}\n", w.vkey, w.url));
    }
    let names: Vec<&str> = witnesses.iter().map(|(n, _)| *n).collect();
    text.push_str(&format!("group all-of-them all {}\n", names.join(" ")));
    text.push_str("quorum all-of-them\n");
    Policy::parse(&text).unwrap()
}

/// Waits until the witness has cosigned `size`.
async fn cosigned_at(w: &WitnessServer, size: u64) {
    for _ in 0..500 {
        if w.witness.latest_size(ORIGIN) == Some(size) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the witness is at {:?}, not {size}",
        w.witness.latest_size(ORIGIN)
    );
}

/// Copies a data directory (the server using it must be stopped).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

// ---------------------------------------------------------------- entries

struct Fixture {
    registrar_key: ed25519_dalek::SigningKey,
    registrar: RegistrarId,
    campaign: CampaignId,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn fixture() -> (Fixture, Vec<Vec<u8>>) {
    let registrar_key = testkit::test_key(7);
    let (reg, reg_bytes) = testkit::registrar(&registrar_key, [0; 96], "Registrar");
    let Entry::Registrar(r) = &reg else {
        unreachable!()
    };
    let registrar = r.id();
    let opens = Timestamp::coarse(now() - 3600).0;
    let (camp, camp_bytes) = testkit::campaign(
        &testkit::test_key(9),
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

async fn submit_all(url: &str, entries: Vec<Vec<u8>>) {
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
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// The setup entries, one round each (the campaign needs its registrar first).
async fn setup(url: &str, entries: Vec<Vec<u8>>) {
    for e in entries {
        submit_all(url, vec![e]).await;
    }
}

fn keys() -> (String, String) {
    let (_, skey, vkey) = LogSigner::generate(ORIGIN).unwrap();
    (skey, vkey)
}

fn opts(url: &str, vkey: &str) -> AuditOptions {
    AuditOptions {
        log_key: Some(vkey.to_owned()),
        parallelism: 4,
        ..AuditOptions::new(url)
    }
}

fn monitor(url: &str, vkey: &str, state: &Path, policy: Option<Policy>) -> Monitor {
    let mut audit = opts(url, vkey);
    audit.policy = policy;
    Monitor::open(MonitorOptions {
        audit,
        state_dir: state.to_owned(),
        alarm_command: Some(format!(
            "printf '%s %s' \"$HEADCOUNT_ALARM_CODE\" \"$HEADCOUNT_ALARM_TREE_SIZE\" > '{}'",
            state.join("alarm-out").display()
        )),
    })
    .unwrap()
}

async fn checkpoint_of(url: &str) -> Vec<u8> {
    reqwest::get(format!("{url}/checkpoint"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn finding(r: &AuditReport) -> &Finding {
    match &r.verdict {
        Verdict::Differs(f) => f,
        Verdict::Agrees => panic!("the audit agrees"),
    }
}

fn alarm_files(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("alarms"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_follows_an_honest_witnessed_log_incrementally() {
    let tmp = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let w1 = start_witness(&tmp.path().join("w1"), "w1.example", &vkey).await;
    let w2 = start_witness(&tmp.path().join("w2"), "w2.example", &vkey).await;
    let policy = policy_of(&vkey, &[("one", &w1), ("two", &w2)]);
    let server = Server::start(&tmp.path().join("log"), &skey, Some(&policy)).await;
    let (f, s) = fixture();
    setup(&server.url, s).await;
    submit_all(&server.url, (0..300).map(|i| vouched(&f, i)).collect()).await;
    cosigned_at(&w2, 303).await;

    let state = tmp.path().join("monitor");
    let mut m = monitor(&server.url, &vkey, &state, Some(policy.clone()));
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.entries, 303);
    let names: Vec<&str> = r.cosigners.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert!(r.cosigners.iter().all(|c| c.timestamp > now() - 600));
    assert_eq!(r.tally_note, TallyNoteStatus::Verified);

    // Growth: only the new tiles are fetched, the rest is reused in memory.
    submit_all(&server.url, (300..320).map(|i| vouched(&f, i)).collect()).await;
    cosigned_at(&w1, 323).await;
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.entries, 323);
    assert_eq!(r.previous.as_ref().unwrap().size, TreeSize(303));
    assert_eq!(r.fetch.fetched_full, 0, "{:?}", r.fetch);
    assert!(r.fetch.reused >= 1, "{:?}", r.fetch);
    assert_eq!(r.tallies[0].vouched, 320);
    assert_eq!(m.last_verified().unwrap().size, TreeSize(323));

    // The server rewrites a tally it published before the last verified
    // checkpoint (history the incremental fold does not revisit): the
    // monitor remembers what it verified and alarms.
    let db = rusqlite::Connection::open(tmp.path().join("log/state.sqlite")).unwrap();
    let (at, json): (i64, String) = db
        .query_row(
            "SELECT tree_size, json FROM tallies WHERE campaign = ?1 AND tree_size <= 303 \
             ORDER BY tree_size DESC LIMIT 1",
            [&f.campaign.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut t: headcount_core::CampaignTally = serde_json::from_str(&json).unwrap();
    t.vouched += 7;
    t.credible += 7;
    let set = |json: &str| {
        db.execute(
            "UPDATE tallies SET json = ?1 WHERE campaign = ?2 AND tree_size = ?3",
            rusqlite::params![json, &f.campaign.0[..], at],
        )
        .unwrap()
    };
    set(&serde_json::to_string(&t).unwrap());
    let r = m.round(&NoCredentials).await.unwrap();
    match finding(&r) {
        Finding::TallyDiffers {
            campaign,
            tree_size,
            ours,
            theirs,
        } => {
            assert_eq!((*campaign, *tree_size), (f.campaign, at as u64));
            assert_eq!(
                theirs.as_ref().unwrap().vouched,
                ours.as_ref().unwrap().vouched + 7
            );
        }
        other => panic!("{other:?}"),
    }
    set(&json);
    std::fs::remove_dir_all(state.join("alarms")).unwrap();

    // A restart resumes from the state directory: the full tiles come from
    // its cache, and the log must extend the checkpoint recorded there.
    drop(m);
    let mut m = monitor(&server.url, &vkey, &state, Some(policy));
    assert_eq!(m.last_verified().unwrap().size, TreeSize(323));
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.fetch.fetched_full, 0, "{:?}", r.fetch);
    assert!(r.fetch.from_cache >= 1, "{:?}", r.fetch);
    assert!(state.join("checkpoints/303.note").exists());
    assert!(state.join("checkpoints/323.note").exists());
    assert!(alarm_files(&state).is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_refused_by_the_witness_and_caught_by_monitor_and_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let w = start_witness(&tmp.path().join("w"), "w.example", &vkey).await;
    let policy = policy_of(&vkey, &[("w", &w)]);
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));

    // The shared prefix, witnessed.
    let a = Server::start(&dir_a, &skey, Some(&policy)).await;
    let (f, s) = fixture();
    setup(&a.url, s).await;
    submit_all(&a.url, (0..5).map(|i| vouched(&f, i)).collect()).await;
    cosigned_at(&w, 8).await;
    let state = tmp.path().join("monitor");
    let mut m = monitor(&a.url, &vkey, &state, Some(policy.clone()));
    assert_eq!(
        m.round(&NoCredentials).await.unwrap().verdict,
        Verdict::Agrees
    );
    a.stop().await;

    // The operator copies the data directory and grows the copies apart,
    // both under the same log key. A stays witnessed; B cannot be.
    copy_dir(&dir_a, &dir_b);
    let a = Server::start(&dir_a, &skey, Some(&policy)).await;
    let b = Server::start(&dir_b, &skey, None).await;
    submit_all(&a.url, (5..8).map(|i| vouched(&f, i)).collect()).await;
    submit_all(&b.url, (100..103).map(|i| vouched(&f, i)).collect()).await;
    assert_eq!((a.size(), b.size()), (11, 11));
    cosigned_at(&w, 11).await;
    m.set_url(a.url.clone());
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(m.last_verified().unwrap().size, TreeSize(11));

    // The witness refuses B: same size, different root, 422.
    let http = reqwest::Client::new();
    let note_b = checkpoint_of(&b.url).await;
    match add_checkpoint(&http, &w.url, 11, &[], &note_b).await {
        Err(ClientError::Unprocessable(_)) => {}
        other => panic!("expected 422, got {other:?}"),
    }
    // B grows; a consistency proof from 11 (B's tree) does not verify against
    // the root the witness cosigned at 11: 422 again. From another old size: 409.
    submit_all(&b.url, (103..105).map(|i| vouched(&f, i)).collect()).await;
    let note_b = checkpoint_of(&b.url).await;
    let cp_b = LogVerifier::from_vkey(&vkey)
        .unwrap()
        .verify(&note_b)
        .unwrap();
    assert_eq!(cp_b.size, TreeSize(13));
    let proof: Vec<[u8; 32]> = consistency_proof(
        &FsTiles::new(dir_b.join("log")),
        TreeSize(11),
        TreeSize(13),
        cp_b.root,
    )
    .unwrap()
    .into_iter()
    .map(|h| h.0)
    .collect();
    match add_checkpoint(&http, &w.url, 11, &proof, &note_b).await {
        Err(ClientError::Unprocessable(_)) => {}
        other => panic!("expected 422, got {other:?}"),
    }
    match add_checkpoint(&http, &w.url, 8, &[], &note_b).await {
        Err(ClientError::Conflict { witness_size: 11 }) => {}
        other => panic!("expected 409 with size 11, got {other:?}"),
    }
    assert_eq!(w.witness.latest_size(ORIGIN), Some(11));

    // The monitor that verified A at 11, pointed at B: a fork, with both
    // signed checkpoints as evidence, and the alarm command ran.
    m.set_url(b.url.clone());
    let r = m.round(&NoCredentials).await.unwrap();
    let f_ = finding(&r);
    assert_eq!(f_.code(), "fork", "{f_}");
    match f_ {
        Finding::Fork { old, new, .. } => {
            assert_eq!((old.size, new.size), (TreeSize(11), TreeSize(13)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f_.evidence().len(), 2);
    assert_eq!(m.last_verified().unwrap().size, TreeSize(11));
    assert_eq!(
        std::fs::read_to_string(state.join("alarm-out")).unwrap(),
        "fork 13"
    );
    let alarms = alarm_files(&state);
    assert_eq!(alarms.len(), 1);
    let text = std::fs::read_to_string(&alarms[0]).unwrap();
    assert!(text.contains("ALARM fork"), "{text}");
    assert!(
        text.contains(&String::from_utf8_lossy(&note_b).into_owned()),
        "{text}"
    );

    // Split view, seen from A comparing with B (B larger: its tiles are
    // fetched and its tree does not extend A's) ...
    let mut o = opts(&a.url, &vkey);
    o.compare = vec![Vantage::Url(b.url.clone())];
    let r = audit(&o, &NoCredentials).await.unwrap();
    match finding(&r) {
        Finding::SplitView {
            source,
            ours,
            theirs,
            ..
        } => {
            assert_eq!(source, &b.url);
            assert_eq!((ours.size, theirs.size), (TreeSize(11), TreeSize(13)));
        }
        other => panic!("{other:?}"),
    }
    // ... and from B comparing with A's checkpoint obtained elsewhere.
    let mut o = opts(&b.url, &vkey);
    o.compare = vec![Vantage::Note {
        source: "a.note".into(),
        note: checkpoint_of(&a.url).await,
    }];
    let r = audit(&o, &NoCredentials).await.unwrap();
    assert_eq!(finding(&r).code(), "split_view", "{:?}", r.verdict);
    // A monitor following A and comparing with B each round alarms too.
    let state2 = tmp.path().join("monitor-compare");
    let m2 = monitor(&a.url, &vkey, &state2, None);
    let mut o2 = m2.options().audit.clone();
    o2.compare = vec![Vantage::Url(b.url.clone())];
    drop(m2);
    let mut m2 = Monitor::open(MonitorOptions {
        audit: o2,
        state_dir: state2.clone(),
        alarm_command: None,
    })
    .unwrap();
    let r = m2.round(&NoCredentials).await.unwrap();
    assert_eq!(finding(&r).code(), "split_view", "{:?}", r.verdict);
    assert!(m2.last_verified().is_none());
    assert_eq!(alarm_files(&state2).len(), 1);
    // A mirror of A is consistent with A.
    let mut o = opts(&a.url, &vkey);
    o.compare = vec![Vantage::Url(a.url.clone())];
    let r = audit(&o, &NoCredentials).await.unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.compared.len(), 1);

    // B's checkpoint fails the witness policy.
    let mut o = opts(&b.url, &vkey);
    o.policy = Some(policy);
    let r = audit(&o, &NoCredentials).await.unwrap();
    match finding(&r) {
        Finding::WitnessQuorum { cosigned, .. } => assert!(cosigned.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(finding(&r).code(), "witness_quorum");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_is_caught_by_monitor_and_witness() {
    let tmp = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let w = start_witness(&tmp.path().join("w"), "w.example", &vkey).await;
    let policy = policy_of(&vkey, &[("w", &w)]);
    let dir = tmp.path().join("log");
    let server = Server::start(&dir, &skey, Some(&policy)).await;
    let (f, s) = fixture();
    setup(&server.url, s).await;
    submit_all(&server.url, (0..4).map(|i| vouched(&f, i)).collect()).await;
    cosigned_at(&w, 7).await;
    server.stop().await;
    let snapshot = tmp.path().join("snapshot");
    copy_dir(&dir, &snapshot);

    let server = Server::start(&dir, &skey, Some(&policy)).await;
    submit_all(&server.url, (4..8).map(|i| vouched(&f, i)).collect()).await;
    cosigned_at(&w, 11).await;
    let state = tmp.path().join("monitor");
    let mut m = monitor(&server.url, &vkey, &state, Some(policy.clone()));
    assert_eq!(
        m.round(&NoCredentials).await.unwrap().verdict,
        Verdict::Agrees
    );
    server.stop().await;

    // The operator restores the older copy.
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&snapshot, &dir);
    let server = Server::start(&dir, &skey, Some(&policy)).await;
    assert_eq!(server.size(), 7);
    let note = checkpoint_of(&server.url).await;
    let http = reqwest::Client::new();
    for old in [0, 7] {
        match add_checkpoint(&http, &w.url, old, &[], &note).await {
            Err(ClientError::Conflict { witness_size: 11 }) => {}
            other => panic!("expected 409 with size 11, got {other:?}"),
        }
    }

    m.set_url(server.url.clone());
    let r = m.round(&NoCredentials).await.unwrap();
    match finding(&r) {
        Finding::Rollback { old, new, .. } => {
            assert_eq!((old.size, new.size), (TreeSize(11), TreeSize(7)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(state.join("alarm-out")).unwrap(),
        "rollback 7"
    );
    // The alarm survives a restart of the monitor.
    drop(m);
    let mut m = monitor(&server.url, &vkey, &state, Some(policy));
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(finding(&r).code(), "rollback");
    assert_eq!(alarm_files(&state).len(), 2);
    server.stop().await;
}

/// Re-signs the campaign's latest stored tally note with `signer_skey`, after `edit`.
fn rewrite_tally_note(
    dir: &Path,
    campaign: CampaignId,
    signer_skey: &str,
    edit: impl FnOnce(&mut CountsNote),
) -> Vec<u8> {
    let db = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    let (size, note): (i64, Vec<u8>) = db
        .query_row(
            "SELECT tree_size, note FROM tallies WHERE campaign = ?1 ORDER BY tree_size DESC LIMIT 1",
            [&campaign.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let text = String::from_utf8(note).unwrap();
    let body = &text[..text.find("\n\n").unwrap() + 1];
    let mut parsed = CountsNote::parse(body).unwrap();
    edit(&mut parsed);
    let signer = LogSigner::from_skey(signer_skey).unwrap();
    let mut n = signed_note::Note::new(parsed.to_text().as_bytes(), &[]).unwrap();
    n.add_sigs(&[&signer]).unwrap();
    let forged = n.to_bytes();
    db.execute(
        "UPDATE tallies SET note = ?1 WHERE campaign = ?2 AND tree_size = ?3",
        rusqlite::params![&forged, &campaign.0[..], size],
    )
    .unwrap();
    forged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_tally_note_the_log_does_not_support_names_the_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let (skey, vkey) = keys();
    let dir = tmp.path().join("log");
    let server = Server::start(&dir, &skey, None).await;
    let (f, s) = fixture();
    setup(&server.url, s).await;
    submit_all(&server.url, (0..6).map(|i| vouched(&f, i)).collect()).await;
    let size = server.size();
    let r = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.tally_note, TallyNoteStatus::Verified);
    server.stop().await;

    // The operator signs a note with 1000 more vouched declarations than
    // its log holds; the JSON tallies stay honest.
    let forged = rewrite_tally_note(&dir, f.campaign, &skey, |n| {
        n.campaigns[0].vouched += 1000;
        n.campaigns[0].credible += 1000;
    });
    let server = Server::start(&dir, &skey, None).await;
    let r = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    match finding(&r) {
        Finding::TallyNoteDiffers {
            campaign,
            tree_size,
            ours,
            theirs,
            note,
        } => {
            assert_eq!(*campaign, f.campaign);
            assert_eq!(*tree_size, size);
            assert_eq!(ours.as_ref().unwrap().vouched, 6);
            assert_eq!(theirs.as_ref().unwrap().vouched, 1006);
            // The evidence: a note signed by the log key.
            assert_eq!(note, &forged);
            LogVerifier::from_vkey(&vkey)
                .unwrap()
                .verify_note(note)
                .unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(finding(&r).code(), "tally_note_differs");
    let msg = finding(&r).to_string();
    assert!(
        msg.contains(&f.campaign.to_string()) && msg.contains(&size.to_string()),
        "{msg}"
    );

    // The monitor raises the same alarm.
    let state = tmp.path().join("monitor");
    let mut m = monitor(&server.url, &vkey, &state, None);
    let r = m.round(&NoCredentials).await.unwrap();
    assert_eq!(finding(&r).code(), "tally_note_differs");
    assert_eq!(
        std::fs::read_to_string(state.join("alarm-out")).unwrap(),
        format!("tally_note_differs {size}")
    );
    server.stop().await;

    // A note signed by another key is a bad tally note.
    let (other_skey, _) = keys();
    rewrite_tally_note(&dir, f.campaign, &other_skey, |_| {});
    let server = Server::start(&dir, &skey, None).await;
    let r = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    assert_eq!(finding(&r).code(), "bad_tally_note", "{:?}", r.verdict);
    server.stop().await;

    // A note, signed by the log key, that claims the counts at a tree size before the
    // campaign's last entry (a stale claim passed off as current) is a bad tally note.
    rewrite_tally_note(&dir, f.campaign, &skey, |n| {
        n.campaigns[0].vouched -= 6;
        n.campaigns[0].credible -= 6;
        n.tree_size = 2;
    });
    let server = Server::start(&dir, &skey, None).await;
    let r = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    assert_eq!(finding(&r).code(), "bad_tally_note", "{:?}", r.verdict);
    assert!(
        finding(&r)
            .to_string()
            .contains("before the campaign's entry")
    );
    server.stop().await;

    // No note at all: reported, and a finding only when required.
    let db = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    db.execute(
        "UPDATE tallies SET note = NULL WHERE campaign = ?1",
        [&f.campaign.0[..]],
    )
    .unwrap();
    drop(db);
    let server = Server::start(&dir, &skey, None).await;
    let r = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Agrees, "{:?}", r.verdict);
    assert_eq!(r.tally_note, TallyNoteStatus::Missing);
    let mut o = opts(&server.url, &vkey);
    o.require_tally_note = true;
    let r = audit(&o, &NoCredentials).await.unwrap();
    assert_eq!(finding(&r).code(), "tally_note_missing");
    server.stop().await;
}

/// A log whose clock runs ahead: it stamps a leaf two days in the future
/// (say, to open a campaign early). The witness cosigns the checkpoint with
/// its own, honest time, and the auditor holding the policy catches it.
#[tokio::test]
async fn a_log_clock_running_ahead_of_the_witnesses_is_caught() {
    let (skey, vkey) = keys();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("log");
    // Write the operator's future-dated tree by hand: tiles, bundle, signed checkpoint.
    let (f, entries) = fixture();
    let _ = f;
    let future = Timestamp::coarse(now() + 2 * 86_400);
    let leaves: Vec<Vec<u8>> = entries
        .into_iter()
        .map(|e| {
            headcount_core::Leaf {
                timestamp: future,
                entry: e,
            }
            .encode()
        })
        .collect();
    let mut appender = headcount_tlog::Appender::empty();
    let out = appender.append(&leaves).unwrap();
    let tiles = FsTiles::new(data.join("log"));
    for (id, bytes) in &out.tiles {
        tiles.write_tile(*id, bytes).unwrap();
    }
    let cp = headcount_tlog::Checkpoint {
        origin: ORIGIN.into(),
        size: out.size,
        root: out.root,
        extensions: vec![],
    };
    let note = LogSigner::from_skey(&skey).unwrap().sign(&cp).unwrap();
    tiles.write_checkpoint(&note).unwrap();

    let w = start_witness(&root.path().join("w"), "clock-witness.example", &vkey).await;
    let policy = policy_of(&vkey, &[("w", &w)]);
    let server = Server::start(&data, &skey, Some(&policy)).await;
    cosigned_at(&w, out.size.0).await;

    let mut o = opts(&server.url, &vkey);
    o.policy = Some(policy);
    let report = audit(&o, &NoCredentials).await.unwrap();
    let f = finding(&report);
    assert_eq!(f.code(), "timestamp_ahead", "{f}");
    assert_eq!(f.tree_size(), Some(out.size.0));
    assert_eq!(
        f.evidence().len(),
        1,
        "the cosigned checkpoint is the evidence"
    );
    // Without a policy there is no clock to compare with: the log looks valid.
    let plain = audit(&opts(&server.url, &vkey), &NoCredentials)
        .await
        .unwrap();
    assert!(plain.verdict.agrees(), "{:?}", plain.verdict);
    server.stop().await;
}
