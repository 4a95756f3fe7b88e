//! SIGKILL the real `headcount serve` at random instants while clients submit
//! continuously; restart it on the same data directory each time. Then:
//! every acknowledged receipt verifies and is included in the final
//! checkpoint, every checkpoint ever seen is a prefix of the final tree (so
//! consistent with every later one), no entry is logged twice, nothing
//! acknowledged is lost, resubmissions return the original index, and
//! `headcount audit` agrees (DESIGN §6, §10).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Server, headcount};
use futures::StreamExt;
use headcount_core::entry::Entry;
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, Leaf, RegistrarId};
use headcount_tlog::{
    Hash, LeafIndex, LogVerifier, TileId, TlogProof, TreeSize, decode_bundle, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};
use rand::Rng;
use serde_json::Value;

const CLIENTS: u32 = 6;
const KILLS: u32 = 24;

/// An acknowledged submission.
struct Acked {
    entry: Vec<u8>,
    receipt: Value,
}

#[derive(Default)]
struct Stats {
    connection_errors: AtomicU64,
    status_5xx: AtomicU64,
    acked_after_retry: AtomicU64,
    resubmitted: AtomicU64,
}

type Url = Arc<RwLock<String>>;

fn url(u: &Url) -> String {
    u.read().unwrap().clone()
}

/// Posts until the log answers 200; retries connection errors and 5xx
/// (the server is down or restarting). Any 4xx is a bug.
async fn submit(http: &reqwest::Client, u: &Url, entry: &[u8], stats: &Stats) -> (Value, bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut retried = false;
    loop {
        assert!(Instant::now() < deadline, "no receipt in 60 s");
        match http
            .post(format!("{}/v1/entries", url(u)))
            .body(entry.to_vec())
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                Ok(v) => return (v, retried),
                // Killed while sending the body.
                Err(_) => {
                    stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                }
            },
            Ok(r) if r.status().is_server_error() => {
                stats.status_5xx.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => {
                let s = r.status();
                panic!(
                    "submission refused: {s} {}",
                    r.text().await.unwrap_or_default()
                );
            }
            Err(_) => {
                stats.connection_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        retried = true;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn get(http: &reqwest::Client, u: &str, path: &str) -> reqwest::Response {
    let r = http.get(format!("{u}{path}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r
}

async fn get_json(http: &reqwest::Client, u: &str, path: &str) -> Value {
    get(http, u, path).await.json().await.unwrap()
}

/// RFC 6962 Merkle tree hash, computed independently of the tlog crate's tiles.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => headcount_tlog::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two below n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(mth(&leaves[..k]), mth(&leaves[k..]))
        }
    }
}

fn hashes(v: &Value) -> Vec<Hash> {
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let b = B64.decode(h.as_str().unwrap()).unwrap();
            Hash(b.try_into().unwrap())
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn client(
    id: u32,
    http: reqwest::Client,
    u: Url,
    stop: Arc<AtomicBool>,
    rid: RegistrarId,
    cid: CampaignId,
    acked: Arc<Mutex<Vec<Acked>>>,
    stats: Arc<Stats>,
) {
    let mut mine: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let mut reference = [0u8; 32];
        reference[0] = id as u8;
        reference[1..9].copy_from_slice(&n.to_le_bytes());
        let (_, entry) =
            testkit::vouched(&test_key(1), rid, cid, reference, &format!("c{id} n{n}"));
        let (receipt, retried) = submit(&http, &u, &entry, &stats).await;
        if retried {
            stats.acked_after_retry.fetch_add(1, Ordering::Relaxed);
        }
        let index = receipt["leaf_index"].as_u64().unwrap();
        mine.push((entry.clone(), index));
        acked.lock().unwrap().push(Acked { entry, receipt });
        // Now and then, resubmit an earlier entry (likely from before a
        // crash): the same index comes back, nothing is appended.
        if n.is_multiple_of(4) {
            let (old, index) = &mine[rand::thread_rng().gen_range(0..mine.len())];
            let (again, _) = submit(&http, &u, old, &stats).await;
            assert_eq!(again["leaf_index"].as_u64(), Some(*index), "resubmission");
            stats.resubmitted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn sigkill_at_random_instants_loses_nothing_and_never_forks() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // Crash safety, not admission, is under test: raw submissions without admission work.
    let mut srv = Server::start_with(dir.path(), 20, "[admission]\npublish_work_bits = 0\n");
    let vkey = srv.vkey();
    let verifier = LogVerifier::from_vkey(&vkey).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let u: Url = Arc::new(RwLock::new(srv.url.clone()));
    let stats = Arc::new(Stats::default());

    // Registrar and campaign, before any kill.
    let (Entry::Registrar(r), rb) =
        testkit::registrar(&test_key(1), testkit::bbs_key(1), "Crash registrar")
    else {
        unreachable!()
    };
    let now = common::now();
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], now - 3600, now + 86_400, 0)
    else {
        unreachable!()
    };
    rt.block_on(async {
        submit(&http, &u, &rb, &stats).await;
        submit(&http, &u, &cb, &stats).await;
    });
    let (rid, cid) = (r.id(), c.id());

    // Clients and a checkpoint watcher.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            rt.spawn(client(
                i,
                http.clone(),
                Arc::clone(&u),
                Arc::clone(&stop),
                rid,
                cid,
                Arc::clone(&acked),
                Arc::clone(&stats),
            ))
        })
        .collect();
    let seen = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let watcher = rt.spawn({
        let (http, u, stop, seen) = (
            http.clone(),
            Arc::clone(&u),
            Arc::clone(&stop),
            Arc::clone(&seen),
        );
        async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = http.get(format!("{}/checkpoint", url(&u))).send().await
                    && r.status() == 200
                    && let Ok(b) = r.bytes().await
                {
                    let mut s = seen.lock().unwrap();
                    if s.last().map(|l| l.as_slice()) != Some(b.as_ref()) {
                        s.push(b.to_vec());
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });

    // Let the clients get going, then kill and restart at random instants.
    common::poll("first receipts", Duration::from_secs(30), || {
        (acked.lock().unwrap().len() >= CLIENTS as usize).then_some(())
    });
    let mut rng = rand::thread_rng();
    let mut acked_at_kill = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..=400)));
        srv.kill();
        acked_at_kill.push(acked.lock().unwrap().len());
        srv.restart();
        *u.write().unwrap() = srv.url.clone();
    }
    let kill_phase = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for c in clients {
            c.await.unwrap();
        }
        watcher.await.unwrap();
    });
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let base = srv.url.clone();

    // The final state, server up.
    let (final_note, leaves) = rt.block_on(async {
        let note = get(&http, &base, "/checkpoint")
            .await
            .bytes()
            .await
            .unwrap();
        let cp = verifier.verify(&note).unwrap();
        let mut leaves = Vec::new();
        let n = cp.size.0;
        for i in 0..n.div_ceil(256) {
            let id = TileId {
                level: None,
                index: i,
                width: (n - i * 256).min(256) as u16,
            };
            let b = get(&http, &base, &format!("/{}", id.path()))
                .await
                .bytes()
                .await
                .unwrap();
            leaves.extend(decode_bundle(&b).unwrap().into_iter().map(<[u8]>::to_vec));
        }
        (note.to_vec(), leaves)
    });
    let final_cp = verifier.verify(&final_note).unwrap();
    let n = final_cp.size.0;
    assert_eq!(leaves.len() as u64, n);
    let leaf_hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    assert_eq!(
        mth(&leaf_hashes),
        final_cp.root,
        "bundles match the final checkpoint"
    );

    // No entry twice; timestamps never go back; exactly what was acknowledged.
    let mut entries = HashSet::new();
    let mut last_ts = 0;
    for (i, l) in leaves.iter().enumerate() {
        let leaf = Leaf::decode(l).unwrap();
        assert!(leaf.timestamp.0 >= last_ts, "leaf {i} goes back in time");
        last_ts = leaf.timestamp.0;
        assert!(
            entries.insert(headcount_core::EntryHash::of(&leaf.entry)),
            "leaf {i} is a duplicate entry"
        );
    }
    assert_eq!(
        n,
        2 + acked.len() as u64,
        "the log holds the registrar, the campaign and each acknowledged entry once"
    );

    // Every receipt: its own tlog-proof verifies, the leaf is the one at its
    // index, and its checkpoint is a prefix of the final tree.
    let mut checkpoints: Vec<Vec<u8>> = Vec::new();
    for a in &acked {
        let proof = TlogProof::parse(a.receipt["proof"].as_str().unwrap().as_bytes()).unwrap();
        let mut leaf = proof.extra.clone().unwrap();
        leaf.extend_from_slice(&a.entry);
        let cp = proof.verify(leaf_hash(&leaf), &verifier).unwrap();
        let index = a.receipt["leaf_index"].as_u64().unwrap();
        assert_eq!(proof.index.0, index);
        assert_eq!(cp.size.0, a.receipt["tree_size"].as_u64().unwrap());
        assert_eq!(
            leaves[index as usize], leaf,
            "the receipt's leaf is in the log"
        );
        checkpoints.push(proof.checkpoint.clone());
    }

    // Every checkpoint the watcher saw: sizes never shrink, and each one's
    // root is the root of that prefix of the final log.
    let mut roots: HashMap<u64, Hash> = HashMap::new();
    let mut last_size = 0;
    for note in &seen {
        let cp = verifier.verify(note).unwrap();
        assert!(
            cp.size.0 >= last_size,
            "the log shrank: {last_size} -> {}",
            cp.size.0
        );
        last_size = cp.size.0;
    }
    for note in seen.iter().chain(&checkpoints) {
        let cp = verifier.verify(note).unwrap();
        assert!(cp.size.0 <= n);
        let root = *roots
            .entry(cp.size.0)
            .or_insert_with(|| mth(&leaf_hashes[..cp.size.0 as usize]));
        assert_eq!(
            cp.root, root,
            "checkpoint of size {} forks from the final log",
            cp.size.0
        );
    }

    // And through the API: inclusion of every receipt in the final
    // checkpoint, consistency of every size seen with it, and resubmission
    // of every acknowledged entry returning its original index.
    let sizes: Vec<u64> = roots.keys().copied().collect();
    let final_root = final_cp.root;
    rt.block_on(async {
        futures::stream::iter(acked.iter())
            .for_each_concurrent(8, |a| {
                let (http, base, leaves) = (&http, &base, &leaves);
                async move {
                    let i = a.receipt["leaf_index"].as_u64().unwrap();
                    let v = get_json(
                        http,
                        base,
                        &format!("/v1/proof/inclusion?index={i}&tree_size={n}"),
                    )
                    .await;
                    let leaf = leaves[i as usize].as_slice();
                    verify_inclusion(
                        leaf_hash(leaf),
                        LeafIndex(i),
                        TreeSize(n),
                        final_root,
                        &hashes(&v),
                    )
                    .unwrap_or_else(|e| panic!("inclusion of {i} in {n}: {e}"));
                    let r = http
                        .post(format!("{base}/v1/entries"))
                        .body(a.entry.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let again: Value = r.json().await.unwrap();
                    assert_eq!(again["leaf_index"].as_u64(), Some(i));
                }
            })
            .await;
        futures::stream::iter(sizes.iter().filter(|s| **s > 0))
            .for_each_concurrent(8, |&s| {
                let (http, base, roots) = (&http, &base, &roots);
                async move {
                    let v = get_json(
                        http,
                        base,
                        &format!("/v1/proof/consistency?old_size={s}&tree_size={n}"),
                    )
                    .await;
                    verify_consistency(
                        TreeSize(s),
                        roots[&s],
                        TreeSize(n),
                        final_root,
                        &hashes(&v),
                    )
                    .unwrap_or_else(|e| panic!("consistency {s} -> {n}: {e}"));
                }
            })
            .await;
        let t = get_json(&http, &base, &format!("/v1/campaigns/{cid}/tally")).await;
        assert_eq!(t["vouched"].as_u64(), Some(acked.len() as u64), "{t}");
        assert_eq!(t["tree_size"].as_u64(), Some(n), "{t}");
        let info = get_json(&http, &base, "/v1/log").await;
        assert_eq!(
            info["tree_size"].as_u64(),
            Some(n),
            "resubmissions appended nothing"
        );
    });

    // The real auditor agrees.
    let out = headcount(&["audit", &base, "--log-key", &vkey, "--quiet"]);
    let o = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{o}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(o.contains("AGREES"), "{o}");
    assert!(o.contains(&format!("checked    {n} entries")), "{o}");
    assert!(o.contains(&format!("vouched {}", acked.len())), "{o}");

    let progressed = acked_at_kill.windows(2).filter(|w| w[1] > w[0]).count();
    eprintln!(
        "crash test: {} kills ({} starts), {} entries acknowledged ({} after a retry), \
         {} resubmissions checked, {} checkpoints seen ({} distinct sizes), \
         {} connection errors, {} 5xx, kills with progress between: {progressed}, \
         kill phase {:.1}s, total {:.1}s",
        KILLS,
        srv.starts,
        acked.len(),
        stats.acked_after_retry.load(Ordering::Relaxed),
        stats.resubmitted.load(Ordering::Relaxed),
        seen.len(),
        roots.len(),
        stats.connection_errors.load(Ordering::Relaxed),
        stats.status_5xx.load(Ordering::Relaxed),
        kill_phase.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(acked.len() >= 50, "too little traffic to mean anything");
    assert!(
        progressed >= (KILLS / 4) as usize,
        "entries were acknowledged between most kills"
    );
    srv.kill();
}
