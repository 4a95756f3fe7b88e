//! A whole log on PostgreSQL (derived state, read model, lease, commit point)
//! with its tiles in a directory: entries in, receipts out; a standby cannot
//! start while the sequencer holds the lease, takes over when it is gone, and
//! goes on without forking or losing an entry; the derived state is rebuilt
//! from the log after it is wiped.

use std::sync::Arc;
use std::time::Duration;

use headcount_core::entry::Entry;
use headcount_core::testkit::{self, test_key};
use headcount_core::{CampaignId, NoCredentials};
use headcount_scaleout::cluster::{Cluster, S3Server, skip_or_fail};
use headcount_scaleout::s3::S3Tiles;
use headcount_scaleout::{log_storage, pg::PgStore};
use headcount_server::tiles::FsTiles;
use headcount_server::{Log, Receipt, SequencerOptions};
use headcount_storage::{DerivedWriter, SequencerLease, StorageError, TileStore};
use headcount_tlog::{LogSigner, LogVerifier, TlogProof, leaf_hash};

const TTL: Duration = Duration::from_secs(3);

fn open(
    url: &str,
    tiles: &Arc<dyn TileStore>,
    skey: &str,
    holder: &str,
) -> Result<Arc<Log>, StorageError> {
    let storage = log_storage::postgres(url, "log", Arc::clone(tiles), holder, TTL)?;
    Ok(Log::open_with(
        storage,
        LogSigner::from_skey(skey).unwrap(),
        Arc::new(NoCredentials),
        SequencerOptions {
            batch_interval: Duration::from_millis(1),
            ..Default::default()
        },
    )
    .expect("open the log"))
}

/// A registrar, a campaign, then vouched declarations for people `0..n`.
fn entries(n: u64) -> (CampaignId, Vec<Vec<u8>>) {
    let (Entry::Registrar(r), rb) = testkit::registrar(&test_key(1), [7; 96], "R") else {
        unreachable!()
    };
    let (Entry::Campaign(c), cb) =
        testkit::campaign(&test_key(2), vec![r.id()], 1_600_000_000, 4_000_000_000, 4)
    else {
        unreachable!()
    };
    let mut out = vec![rb, cb];
    for i in 0..n {
        let mut reference = [0u8; 32];
        reference[..8].copy_from_slice(&i.to_be_bytes());
        out.push(testkit::vouched(&test_key(1), r.id(), c.id(), reference, &format!("p{i}")).1);
    }
    (c.id(), out)
}

fn check_receipt(r: &Receipt, entry: &[u8], verifier: &LogVerifier) {
    let proof = TlogProof::parse(r.proof.as_bytes()).unwrap();
    let mut leaf = proof.extra.clone().unwrap();
    leaf.extend_from_slice(entry);
    let cp = proof.verify(leaf_hash(&leaf), verifier).unwrap();
    assert_eq!(cp.size.0, r.tree_size);
}

fn postgres() -> Option<Cluster> {
    match Cluster::start() {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            skip_or_fail("PostgreSQL (initdb, pg_ctl) is not installed");
            None
        }
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_on_postgres_survives_a_takeover_and_a_rebuild() {
    let Some(pg) = postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tiles: Arc<dyn TileStore> = Arc::new(FsTiles::new(dir.path().join("log")));
    takeover_and_rebuild(&pg.url(), &tiles).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_on_postgres_and_s3_survives_a_takeover_and_a_rebuild() {
    let Some(pg) = postgres() else { return };
    let s3 = match S3Server::start("log") {
        Ok(Some(s)) => s,
        Ok(None) => return skip_or_fail("s3s-fs is not installed"),
        Err(e) => panic!("could not start s3s-fs: {e}"),
    };
    let tiles: Arc<dyn TileStore> = Arc::new(S3Tiles::new(&s3.location).unwrap());
    takeover_and_rebuild(&pg.url(), &tiles).await;
    // The bucket holds the C2SP read paths a CDN would serve.
    let published = std::fs::read(s3.root().join("log/logs/one/checkpoint")).unwrap();
    assert!(published.starts_with(b"scaleout.test/log\n10\n"));
}

async fn takeover_and_rebuild(url: &str, tiles: &Arc<dyn TileStore>) {
    let url = url.to_owned();
    let (signer, skey, vkey) = LogSigner::generate("scaleout.test/log").unwrap();
    drop(signer);
    let verifier = LogVerifier::from_vkey(&vkey).unwrap();
    let (campaign, all) = entries(8);

    // The sequencer logs a registrar, a campaign and four declarations.
    let a = open(&url, tiles, &skey, "a").unwrap();
    let mut receipts = Vec::new();
    for e in &all[..6] {
        let r = a.submit(e.clone()).await.unwrap();
        check_receipt(&r, e, &verifier);
        receipts.push(r);
    }
    assert_eq!(
        receipts.iter().map(|r| r.leaf_index).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    let tally = a
        .read(move |db| db.tally_at(&campaign, 6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tally.vouched, 4);

    // A standby cannot start while the sequencer holds the lease.
    match log_storage::postgres(&url, "log", Arc::clone(tiles), "b", TTL) {
        Err(StorageError::LeaseHeld { holder }) => assert_eq!(holder, "a"),
        Err(e) => panic!("standby: {e}"),
        Ok(_) => panic!("a second sequencer started"),
    }

    // The sequencer goes away; the standby takes over and goes on.
    a.shutdown();
    drop(a);
    let b = open(&url, tiles, &skey, "b").unwrap();
    assert_eq!(b.committed().size, 6);
    // Resubmitting an entry the first sequencer logged: the same leaf, no duplicate.
    let again = b.submit(all[3].clone()).await.unwrap();
    assert_eq!(again.leaf_index, 3);
    for (i, e) in all[6..].iter().enumerate() {
        let r = b.submit(e.clone()).await.unwrap();
        assert_eq!(r.leaf_index, 6 + i as u64);
        check_receipt(&r, e, &verifier);
    }
    // The first sequencer's receipts still verify: one history, no fork.
    let latest = b.committed();
    assert_eq!(latest.size, 10);
    for r in &receipts {
        let at = b.locate(&r.entry_hash).unwrap().unwrap();
        assert_eq!(at.index, r.leaf_index);
    }
    b.shutdown();
    drop(b);

    // Wipe the derived state: it is rebuilt from the log at the next start.
    {
        let store = PgStore::connect(&url, "log", 2).unwrap();
        let lease = store.lease();
        let token = lease.try_acquire("operator", TTL).unwrap();
        store.writer(token).reset().unwrap();
        lease.release(token).unwrap();
        assert!(
            headcount_storage::ReadModel::campaigns(&store.read_model())
                .unwrap()
                .is_empty()
        );
    }
    let c = open(&url, tiles, &skey, "c").unwrap();
    let tally = c
        .read(move |db| db.tally_at(&campaign, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tally.vouched, tally.credible), (8, 8));
    let at = c.locate(&receipts[5].entry_hash).unwrap().unwrap();
    assert_eq!(at.index, 5);
    c.shutdown();
}
