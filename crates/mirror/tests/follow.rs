//! The mirror against a tlog-tiles log built with `headcount-tlog` and served over real HTTP
//! on loopback. The log here can also misbehave (fork, roll back, serve a bad tile, sign with
//! another key), which the real server cannot be made to do; the end-to-end test with the
//! real `headcount serve` is in `crates/cli/tests/issuance.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use headcount_cosignature::{CosignatureSigner, Policy};
use headcount_mirror::{Error, Mirror, MirrorConfig, follow_once, origin_hash};
use headcount_tlog::{Appender, Checkpoint, LogSigner, TileId, TreeSize};

const ORIGIN: &str = "mirror.test/log";

/// A log: its tiles and checkpoint as served, and what the test makes it do.
struct Log {
    appender: Appender,
    tiles: HashMap<TileId, Vec<u8>>,
    /// The log key (`skey`): the fork test makes a second log with it.
    skey: String,
    note: Vec<u8>,
}

impl Log {
    fn new(skey: String) -> Self {
        let mut l = Log {
            appender: Appender::empty(),
            tiles: HashMap::new(),
            skey,
            note: vec![],
        };
        l.append(0, 0);
        l
    }

    /// Appends `n` entries (their bytes depend on `seed`) and signs the new checkpoint.
    fn append(&mut self, n: usize, seed: u8) {
        let entries: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("entry {seed} {i}").into_bytes())
            .collect();
        let out = self.appender.append(&entries).unwrap();
        for (id, data) in out.tiles {
            self.tiles.insert(id, data);
        }
        self.note = self.sign(self.checkpoint());
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: TreeSize(self.appender.size().0),
            root: self.appender.root(),
            extensions: vec![],
        }
    }

    fn sign(&self, cp: Checkpoint) -> Vec<u8> {
        LogSigner::from_skey(&self.skey).unwrap().sign(&cp).unwrap()
    }
}

type Shared = Arc<Mutex<Log>>;

async fn checkpoint(State(log): State<Shared>) -> Vec<u8> {
    log.lock().unwrap().note.clone()
}

async fn tile(State(log): State<Shared>, UrlPath(rest): UrlPath<String>) -> (StatusCode, Vec<u8>) {
    let Ok(id) = TileId::parse_path(&format!("tile/{rest}")) else {
        return (StatusCode::BAD_REQUEST, vec![]);
    };
    match log.lock().unwrap().tiles.get(&id) {
        Some(t) => (StatusCode::OK, t.clone()),
        None => (StatusCode::NOT_FOUND, vec![]),
    }
}

/// Serves `log` on a free loopback port; returns its URL.
async fn serve(log: Shared) -> String {
    let app = axum::Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*rest}", get(tile))
        .with_state(log);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

struct Setup {
    dir: tempfile::TempDir,
    log: Shared,
    url: String,
    log_vkey: String,
    mirror_skey: String,
    mirror_vkey: String,
    client: reqwest::Client,
}

async fn setup() -> Setup {
    let (_, skey, log_vkey) = LogSigner::generate(ORIGIN).unwrap();
    let log = Arc::new(Mutex::new(Log::new(skey)));
    let url = serve(Arc::clone(&log)).await;
    let (_, mirror_skey, mirror_vkey) = CosignatureSigner::generate("mirror.test").unwrap();
    Setup {
        dir: tempfile::tempdir().unwrap(),
        log,
        url,
        log_vkey,
        mirror_skey,
        mirror_vkey,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    fn config(&self) -> MirrorConfig {
        MirrorConfig::new(&self.mirror_skey, &self.log_vkey, &self.url).unwrap()
    }

    fn open(&self) -> Arc<Mirror> {
        Arc::new(Mirror::open(self.config(), self.dir.path()).unwrap())
    }

    fn append(&self, n: usize, seed: u8) {
        self.log.lock().unwrap().append(n, seed);
    }

    fn log_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(origin_hash(ORIGIN))
    }

    /// Every file of the mirror's state, with its bytes.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(d: &std::path::Path, base: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else {
                    let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = vec![];
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

/// GET through the mirror's own router, on loopback.
async fn mirror_get(m: &Arc<Mirror>, path: &str) -> (u16, Vec<u8>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(headcount_mirror::serve_on(Arc::clone(m), l, async {
        let _ = rx.await;
    }));
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let out = (r.status().as_u16(), r.bytes().await.unwrap().to_vec());
    let _ = tx.send(());
    let _ = h.await;
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn follows_verifies_stores_cosigns_and_serves() {
    let s = setup().await;
    let m = s.open();
    assert_eq!(m.size(), 0);
    s.append(300, 1);
    assert_eq!(follow_once(&m, &s.client).await.unwrap(), 300);
    s.append(213, 2);
    assert_eq!(follow_once(&m, &s.client).await.unwrap(), 513);
    // Nothing new: nothing changes.
    let before = s.files();
    assert_eq!(follow_once(&m, &s.client).await.unwrap(), 513);
    assert_eq!(s.files(), before);

    // The checkpoint served: the log's, with the log's signature and the mirror's cosignature.
    let h = origin_hash(ORIGIN);
    let (status, note) = mirror_get(&m, &format!("/{h}/checkpoint")).await;
    assert_eq!(status, 200);
    let log = headcount_tlog::LogVerifier::from_vkey(&s.log_vkey).unwrap();
    assert_eq!(log.verify(&note).unwrap().size, TreeSize(513));
    let cosigner = headcount_cosignature::CosignatureVerifier::from_vkey(&s.mirror_vkey).unwrap();
    cosigner.verify(&note).unwrap();
    // A policy that lists the mirror as a witness accepts it.
    let policy = Policy::parse(&format!(
        "log {}\nwitness M {}\nquorum M\n",
        s.log_vkey, s.mirror_vkey
    ))
    .unwrap();
    policy.check(&note).unwrap();
    // Every tile and bundle of the tree, byte for byte as the log has it.
    let tiles = s.log.lock().unwrap().tiles.clone();
    for id in headcount_tlog::tiles_for_size(TreeSize(513)) {
        let (status, body) = mirror_get(&m, &format!("/{h}/{}", id.path())).await;
        assert_eq!(status, 200, "{}", id.path());
        assert_eq!(body, tiles[&id], "{}", id.path());
    }
    // An older tree's partial tile that the mirror never held is cut from the full one.
    let (status, body) = mirror_get(&m, &format!("/{h}/tile/0/000.p/10")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        tiles[&TileId {
            level: Some(0),
            index: 0,
            width: 256
        }][..320]
    );
    let (status, body) = mirror_get(&m, &format!("/{h}/tile/entries/000.p/3")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        headcount_tlog::encode_bundle([&b"entry 1 0"[..], b"entry 1 1", b"entry 1 2"]).unwrap()
    );
    // Other paths: clear errors.
    assert_eq!(
        mirror_get(&m, &format!("/{}/checkpoint", "0".repeat(64)))
            .await
            .0,
        404
    );
    assert_eq!(mirror_get(&m, &format!("/{h}/tile/0/999")).await.0, 404);
    assert_eq!(mirror_get(&m, &format!("/{h}/tile/0/01")).await.0, 400);
    assert_ne!(
        mirror_get(&m, &format!("/{h}/tile/0/..%2f..%2fLOCK"))
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resumes_after_an_interruption_at_any_point() {
    let s = setup().await;
    s.append(300, 1);
    let m = s.open();
    follow_once(&m, &s.client).await.unwrap();
    let cp_300 = std::fs::read(s.log_dir().join("checkpoint")).unwrap();
    s.append(400, 2);
    follow_once(&m, &s.client).await.unwrap();
    drop(m);
    // The state an interruption after the tiles and before the checkpoint leaves: the tiles
    // of size 700 on disk, the checkpoint still at 300, and half-written temporary files.
    std::fs::write(s.log_dir().join("checkpoint"), &cp_300).unwrap();
    std::fs::write(s.log_dir().join("checkpoint.tmp"), &cp_300[..20]).unwrap();
    std::fs::write(s.log_dir().join("tile/0/002.tmp"), b"torn").unwrap();
    let m = s.open();
    assert_eq!(m.size(), 300);
    s.append(50, 3);
    assert_eq!(follow_once(&m, &s.client).await.unwrap(), 750);
    drop(m);
    // A restart holds 750.
    let m = s.open();
    assert_eq!(m.size(), 750);
    assert!(
        m.checkpoint_note()
            .unwrap()
            .starts_with(b"mirror.test/log\n750\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_process_cannot_take_the_state() {
    let s = setup().await;
    let _m = s.open();
    assert!(matches!(
        Mirror::open(s.config(), s.dir.path()),
        Err(Error::Locked(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_checkpoints_forks_rollbacks_and_bad_tiles_change_nothing() {
    let s = setup().await;
    s.append(300, 1);
    let m = s.open();
    follow_once(&m, &s.client).await.unwrap();
    let held = s.files();
    let good = s.log.lock().unwrap().note.clone();

    // Signed by another key with the same name.
    let (other, _, _) = LogSigner::generate(ORIGIN).unwrap();
    s.append(10, 2);
    let forged = other.sign(&s.log.lock().unwrap().checkpoint()).unwrap();
    s.log.lock().unwrap().note = forged;
    let e = follow_once(&m, &s.client).await.unwrap_err();
    assert!(matches!(e, Error::BadCheckpoint(_)), "{e}");
    assert_eq!(s.files(), held);

    // A tampered entry bundle: the tiles do not hash to the signed root.
    {
        let mut log = s.log.lock().unwrap();
        log.note = log.sign(log.checkpoint());
        let id = TileId {
            level: None,
            index: 1,
            width: 54,
        };
        let t = log.tiles.get_mut(&id).unwrap();
        let last = t.len() - 1;
        t[last] ^= 1;
    }
    let e = follow_once(&m, &s.client).await.unwrap_err();
    assert!(matches!(e, Error::Tiles(_)), "{e}");
    assert_eq!(s.files(), held);

    // A fork: the same key signs a tree of size 310 that does not extend the mirrored 300
    // (the held full tiles do not hash to the new root; the log's own tiles do, and do not
    // contain the mirrored tree).
    let mut fork = Log::new(s.log.lock().unwrap().skey.clone());
    fork.append(310, 9);
    *s.log.lock().unwrap() = fork;
    let e = follow_once(&m, &s.client).await.unwrap_err();
    assert!(matches!(e, Error::Inconsistent { held: 300, .. }), "{e}");
    assert_eq!(s.files(), held);

    // Another root at the same size, and a smaller tree.
    for n in [300, 299] {
        let skey = s.log.lock().unwrap().skey.clone();
        let mut other = Log::new(skey);
        other.append(n, 7);
        *s.log.lock().unwrap() = other;
        let e = follow_once(&m, &s.client).await.unwrap_err();
        assert!(
            matches!(e, Error::Inconsistent { .. } | Error::Behind { .. }),
            "{e}"
        );
        assert_eq!(s.files(), held);
    }
    // Still serving the mirrored checkpoint, unchanged.
    assert_eq!(m.size(), 300);
    assert!(
        m.checkpoint_note()
            .unwrap()
            .starts_with(b"mirror.test/log\n300\n")
    );
    assert!(good.starts_with(b"mirror.test/log\n300\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_witness_policy_is_enforced() {
    let s = setup().await;
    let (witness, _, witness_vkey) = CosignatureSigner::generate("witness.test").unwrap();
    let policy = Policy::parse(&format!(
        "log {}\nwitness W {witness_vkey}\nquorum W\n",
        s.log_vkey
    ))
    .unwrap();
    let m = Arc::new(Mirror::open(s.config().with_policy(policy), s.dir.path()).unwrap());
    s.append(20, 1);
    let e = follow_once(&m, &s.client).await.unwrap_err();
    assert!(matches!(e, Error::Policy(_)), "{e}");
    assert_eq!(m.size(), 0);
    assert!(!s.log_dir().join("checkpoint").exists());
    // Cosigned by the witness: mirrored, with the witness's cosignature kept.
    {
        let mut log = s.log.lock().unwrap();
        let text_end = log.note.windows(2).position(|w| w == b"\n\n").unwrap() + 1;
        let cosig = witness
            .cosign(&log.note[..text_end], 1_700_000_000)
            .unwrap();
        log.note.extend(cosig.to_bytes());
    }
    assert_eq!(follow_once(&m, &s.client).await.unwrap(), 20);
    let note = m.checkpoint_note().unwrap();
    headcount_cosignature::CosignatureVerifier::from_vkey(&witness_vkey)
        .unwrap()
        .verify(&note)
        .unwrap();
}
