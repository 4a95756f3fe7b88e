//! Partial tiles are deleted once their full tile and a checkpoint covering it
//! are durable; readers of older checkpoints still get every tile and proof
//! (cut from the full tile); start-up removes what a crash or an older version
//! left: temporary files and partial tiles of covered full tiles.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use headcount_core::NoCredentials;
use headcount_core::entry::Entry;
use headcount_core::testkit::{self, test_key};
use headcount_server::{Log, SequencerOptions};
use headcount_tlog::{
    Checkpoint, Hash, LeafIndex, LogSigner, LogVerifier, TileId, TlogProof, TreeSize, leaf_hash,
    verify_consistency, verify_inclusion,
};
use serde_json::Value;

struct Running {
    url: String,
    log: Arc<Log>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn open(dir: &Path, skey: &str, keep_partial_tiles: bool) -> Running {
    let signer = LogSigner::from_skey(skey).unwrap();
    let log = Log::open(
        dir,
        signer,
        Arc::new(NoCredentials),
        SequencerOptions {
            batch_interval: Duration::from_millis(1),
            keep_partial_tiles,
            ..Default::default()
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let served = headcount_server::serve(Arc::clone(&log), listener, async move {
        let _ = rx.await;
    });
    let task = tokio::spawn(async move { served.await.unwrap() });
    Running {
        url,
        log,
        stop,
        task,
    }
}

async fn close(r: Running) {
    let _ = r.stop.send(());
    let _ = r.task.await;
    r.log.shutdown();
}

/// One entry per round (each submission waits for its checkpoint): the
/// steady trickle that leaves a partial tile behind at every size.
async fn trickle(http: &reqwest::Client, url: &str, entries: &[Vec<u8>]) -> Vec<Value> {
    let mut receipts = Vec::new();
    for e in entries {
        let r = http
            .post(format!("{url}/v1/entries"))
            .body(e.clone())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        receipts.push(body);
    }
    receipts
}

/// A registrar, a campaign, then `n - 2` vouched declarations for people
/// `first..`.
fn entries(n: usize, first: u64) -> Vec<Vec<u8>> {
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], 1_600_000_000, 4_000_000_000, 4)
    else {
        unreachable!()
    };
    let mut out = vec![rb, cb];
    for i in 0..n - 2 {
        let mut reference = [0u8; 32];
        reference[..8].copy_from_slice(&(first + i as u64).to_be_bytes());
        out.push(testkit::vouched(&test_key(1), r.id(), c.id(), reference, &format!("p{i}")).1);
    }
    out
}

fn partial_dirs(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if rel.ends_with(".p") {
                    out.push(rel);
                }
                walk(&p, root, out);
            }
        }
    }
    walk(&root.join("log/tile"), root, &mut out);
    out.sort();
    out
}

fn b64_hashes(v: &Value) -> Vec<Hash> {
    use base64::Engine;
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let b = base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap();
            Hash(b.try_into().unwrap())
        })
        .collect()
}

fn receipt_checkpoint(vkey: &str, r: &Value) -> Checkpoint {
    let proof = TlogProof::parse(r["proof"].as_str().unwrap().as_bytes()).unwrap();
    LogVerifier::from_vkey(vkey)
        .unwrap()
        .verify(&proof.checkpoint)
        .unwrap()
}

/// Every receipt's checkpoint (an older tree) still has its inclusion proof,
/// its consistency proof to the current tree, and every tile served.
async fn check_old_readers(http: &reqwest::Client, url: &str, vkey: &str, receipts: &[Value]) {
    let log: Value = http
        .get(format!("{url}/v1/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let latest = LogVerifier::from_vkey(vkey)
        .unwrap()
        .verify(log["checkpoint"].as_str().unwrap().as_bytes())
        .unwrap();
    for r in receipts.iter().step_by(37) {
        let cp = receipt_checkpoint(vkey, r);
        let index = r["leaf_index"].as_u64().unwrap();
        let p: Value = http
            .get(format!(
                "{url}/v1/proof/inclusion?index={index}&tree_size={}",
                cp.size.0
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let proof = TlogProof::parse(r["proof"].as_str().unwrap().as_bytes()).unwrap();
        let mut leaf = proof.extra.clone().unwrap();
        let entry = http
            .get(format!(
                "{url}/v1/entries/{}",
                r["entry_hash"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        leaf.extend_from_slice(&hex::decode(entry["entry"].as_str().unwrap()).unwrap());
        verify_inclusion(
            leaf_hash(&leaf),
            LeafIndex(index),
            cp.size,
            cp.root,
            &b64_hashes(&p),
        )
        .unwrap();
        if cp.size.0 < latest.size.0 {
            let c: Value = http
                .get(format!(
                    "{url}/v1/proof/consistency?old_size={}&tree_size={}",
                    cp.size.0, latest.size.0
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            verify_consistency(cp.size, cp.root, latest.size, latest.root, &b64_hashes(&c))
                .unwrap();
        }
        // The old tree's right-edge tiles, as a reader of that checkpoint asks for them.
        for id in headcount_tlog::tiles_for_size(TreeSize(cp.size.0))
            .into_iter()
            .filter(|id| !id.is_full())
        {
            let got = http
                .get(format!("{url}/{}", id.path()))
                .send()
                .await
                .unwrap();
            assert_eq!(got.status(), 200, "{}", id.path());
            let got = got.bytes().await.unwrap();
            let full = http
                .get(format!("{url}/{}", TileId { width: 256, ..id }.path()))
                .send()
                .await
                .unwrap();
            if full.status() == 200 {
                let full = full.bytes().await.unwrap();
                assert_eq!(
                    got.to_vec(),
                    headcount_tlog::tile_prefix(id, &full).unwrap()
                );
            }
        }
    }
}

#[tokio::test]
async fn partial_tiles_go_once_a_checkpoint_covers_their_full_tile() {
    let dir = tempfile::tempdir().unwrap();
    let (_, skey, vkey) = LogSigner::generate("test.example/partial").unwrap();
    let http = reqwest::Client::new();
    let all = entries(300, 0);

    let srv = open(dir.path(), &skey, false).await;
    let receipts = trickle(&http, &srv.url, &all).await;
    // 300 leaves: the first bundle and level-0 tile are full; their partial
    // tiles are gone; the right edge (44 leaves; level 1 two hashes wide) stays.
    assert_eq!(
        partial_dirs(dir.path()),
        vec![
            "log/tile/0/001.p",
            "log/tile/1/000.p",
            "log/tile/entries/001.p"
        ]
    );
    assert!(dir.path().join("log/tile/0/001.p/44").is_file());
    assert!(dir.path().join("log/tile/entries/001.p/44").is_file());
    assert!(dir.path().join("log/tile/1/000.p/1").is_file());
    assert!(!dir.path().join("log/tile/0/000.p").exists());
    check_old_readers(&http, &srv.url, &vkey, &receipts).await;
    close(srv).await;

    // Restart: recovery reads the right edge; the log goes on.
    let srv = open(dir.path(), &skey, false).await;
    let more = trickle(&http, &srv.url, &entries(260, 1000)[2..]).await;
    assert_eq!(more.last().unwrap()["tree_size"], 558);
    check_old_readers(&http, &srv.url, &vkey, &receipts).await;
    close(srv).await;
}

#[tokio::test]
async fn start_up_removes_temporaries_and_covered_partial_tiles_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_, skey, vkey) = LogSigner::generate("test.example/tidy").unwrap();
    let http = reqwest::Client::new();

    // A log that kept every partial tile (as before pruning existed).
    let srv = open(dir.path(), &skey, true).await;
    let receipts = trickle(&http, &srv.url, &entries(270, 0)).await;
    close(srv).await;
    assert!(dir.path().join("log/tile/0/000.p/255").is_file());
    assert!(dir.path().join("log/tile/entries/000.p/1").is_file());
    let log = dir.path().join("log");
    let before = std::fs::read(log.join("checkpoint")).unwrap();

    // What interrupted writes leave: a temporary beside the checkpoint, one
    // among the tiles, one in a partial directory. And a file that only looks
    // similar, which must stay.
    std::fs::write(log.join(".checkpoint.tmp4242"), b"torn").unwrap();
    std::fs::write(log.join("tile/0/.000.tmp17"), b"torn").unwrap();
    std::fs::write(log.join("tile/0/001.p/.14.tmp9"), b"torn").unwrap();
    std::fs::write(log.join("tile/0/README.tmp"), b"keep").unwrap();
    // A full tile beyond the checkpoint (a round that wrote its tiles but
    // crashed before its checkpoint): its partial tiles are still what
    // recovery reads, so they stay.
    let beyond = TileId {
        level: Some(0),
        index: 1,
        width: 256,
    };
    std::fs::write(log.join(beyond.path()), vec![0u8; 8192]).unwrap();

    let srv = open(dir.path(), &skey, false).await;
    assert!(!log.join(".checkpoint.tmp4242").exists());
    assert!(!log.join("tile/0/.000.tmp17").exists());
    assert!(!log.join("tile/0/001.p/.14.tmp9").exists());
    assert!(log.join("tile/0/README.tmp").exists());
    assert_eq!(std::fs::read(log.join("checkpoint")).unwrap(), before);
    assert_eq!(
        partial_dirs(dir.path()),
        vec![
            "log/tile/0/001.p",
            "log/tile/1/000.p",
            "log/tile/entries/001.p"
        ]
    );
    assert!(log.join("tile/0/001.p/14").is_file());
    check_old_readers(&http, &srv.url, &vkey, &receipts).await;
    // The next round rewrites the uncommitted full tile's place correctly.
    let more = trickle(&http, &srv.url, &entries(10, 5000)[2..]).await;
    assert_eq!(more.last().unwrap()["tree_size"], 278);
    check_old_readers(&http, &srv.url, &vkey, &receipts).await;
    close(srv).await;
}
