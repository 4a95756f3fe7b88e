//! PostgreSQL behind the storage traits, on a real cluster this test starts
//! (`initdb` + `pg_ctl`, a schema per check): the conformance suite every
//! backend passes, then what only a shared database has to get right:
//! lease expiry and takeover, fencing of a deposed sequencer's writes, and a
//! committed but unpublished round published by the next holder.

use std::sync::Arc;
use std::time::Duration;

use headcount_scaleout::cluster::{Cluster, skip_or_fail};
use headcount_scaleout::pg::PgStore;
use headcount_server::tiles::FsTiles;
use headcount_storage::{
    CheckpointStore, DerivedWriter, ReadModel, SequencerLease, StorageError, TileStore, conformance,
};
use headcount_tlog::{Appender, TreeSize, tree_root};

fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            skip_or_fail("PostgreSQL (initdb, pg_ctl) is not installed");
            None
        }
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    }
}

#[test]
fn postgres_passes_the_conformance_suite() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();

    let store = PgStore::connect(&url, "derived", 4).unwrap();
    let token = store
        .lease()
        .try_acquire("test", Duration::from_secs(60))
        .unwrap();
    let mut writer = store.writer(token);
    conformance::derived_state(&mut writer, &store.read_model());

    let store = PgStore::connect(&url, "commit", 4).unwrap();
    let token = store
        .lease()
        .try_acquire("test", Duration::from_secs(60))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tiles: Arc<dyn TileStore> = Arc::new(FsTiles::new(dir.path().join("log")));
    let checkpoint = store.checkpoint(token, Arc::clone(&tiles));
    conformance::checkpoint_cas(&checkpoint, tiles.as_ref());

    let store = PgStore::connect(&url, "lease", 4).unwrap();
    conformance::lease(&store.lease(), &store.lease());
}

#[test]
fn a_deposed_sequencer_is_fenced_and_its_committed_round_is_published_by_the_next() {
    let Some(pg) = cluster() else { return };
    let url = pg.url();
    // Two processes' views of one log.
    let a = PgStore::connect(&url, "fencing", 4).unwrap();
    let b = PgStore::connect(&url, "fencing", 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tiles: Arc<dyn TileStore> = Arc::new(FsTiles::new(dir.path().join("log")));

    let t1 = a
        .lease()
        .try_acquire("a", Duration::from_millis(500))
        .unwrap();
    let mut writer_a = a.writer(t1);
    writer_a
        .add_attestation("auditor", 1, "agrees", 60, b"note 1")
        .unwrap();
    // Its lease is live: no takeover.
    assert!(matches!(
        b.lease().try_acquire("b", Duration::from_secs(60)),
        Err(StorageError::LeaseHeld { holder }) if holder == "a"
    ));

    // A commits a round, then stalls before publishing it.
    let mut appender = Appender::empty();
    let leaves: Vec<Vec<u8>> = (0..300).map(|i| format!("leaf {i}").into_bytes()).collect();
    let round = appender.append(&leaves).unwrap();
    let cp_a = a.checkpoint(t1, Arc::clone(&tiles));
    cp_a.compare_and_swap(None, b"checkpoint 300", &round.tiles)
        .unwrap();
    assert!(
        !tiles.has_tiles().unwrap(),
        "nothing published before publish()"
    );

    // ... past its lease: B takes over with a greater token.
    std::thread::sleep(Duration::from_millis(700));
    let t2 = b.lease().try_acquire("b", Duration::from_secs(60)).unwrap();
    assert!(t2 > t1);

    // Every write A attempts now is refused, and changes nothing.
    let reads = b.read_model();
    match writer_a.add_attestation("auditor", 2, "agrees", 120, b"note 2") {
        Err(StorageError::LeaseLost { token }) => assert_eq!(token, t1.0),
        other => panic!("a deposed writer wrote: {other:?}"),
    }
    match writer_a.reset() {
        Err(StorageError::LeaseLost { .. }) => {}
        other => panic!("a deposed writer reset: {other:?}"),
    }
    assert_eq!(reads.attestations(10).unwrap().len(), 1);
    match cp_a.compare_and_swap(Some(b"checkpoint 300"), b"checkpoint 301", &[]) {
        Err(StorageError::LeaseLost { .. }) => {}
        other => panic!("a deposed sequencer committed: {other:?}"),
    }
    assert!(matches!(
        a.lease().renew(t1, Duration::from_secs(60)),
        Err(StorageError::LeaseLost { .. })
    ));

    // B's recovery publishes A's committed round: tiles first, then the checkpoint.
    let cp_b = b.checkpoint(t2, Arc::clone(&tiles));
    assert_eq!(
        cp_b.load().unwrap().as_deref(),
        Some(&b"checkpoint 300"[..])
    );
    cp_b.publish().unwrap();
    assert_eq!(
        tree_root(tiles.as_ref(), TreeSize(300)).unwrap(),
        round.root
    );
    assert_eq!(
        std::fs::read(dir.path().join("log/checkpoint")).unwrap(),
        b"checkpoint 300"
    );
    // A, waking up, cannot publish over it or unstage anything.
    assert!(matches!(
        cp_a.publish(),
        Ok(()) | Err(StorageError::LeaseLost { .. })
    ));

    // B goes on from there.
    let next = appender.append(&leaves[..10]).unwrap();
    cp_b.compare_and_swap(Some(b"checkpoint 300"), b"checkpoint 310", &next.tiles)
        .unwrap();
    cp_b.publish().unwrap();
    assert_eq!(tree_root(tiles.as_ref(), TreeSize(310)).unwrap(), next.root);
    let mut writer_b = b.writer(t2);
    writer_b
        .add_attestation("auditor", 2, "agrees", 120, b"note 2")
        .unwrap();
    assert_eq!(reads.attestations(10).unwrap().len(), 2);
}

#[test]
fn a_bad_schema_name_is_refused_before_connecting() {
    for bad in ["", "Upper", "semi;colon", "dash-ed", "sp ace"] {
        match PgStore::connect("postgres://nobody@127.0.0.1:1/none", bad, 2) {
            Err(StorageError::Backend { message, .. }) => {
                assert!(message.contains("schema"), "{message}")
            }
            Err(e) => panic!("{bad:?}: {e}"),
            Ok(_) => panic!("{bad:?} accepted"),
        }
    }
}
