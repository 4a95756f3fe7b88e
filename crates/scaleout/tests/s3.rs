//! Tiles in S3-compatible object storage: a real S3-protocol server
//! (`s3s-fs`, from the Rust package registry) started on a free loopback
//! port. Tiles are create-only (same bytes again succeed, other bytes are
//! refused and change nothing); with the PostgreSQL commit point they pass
//! the same conformance checks as the file system.

use std::sync::Arc;
use std::time::Duration;

use headcount_scaleout::cluster::{Cluster, S3Server, skip_or_fail};
use headcount_scaleout::pg::PgStore;
use headcount_scaleout::s3::S3Tiles;
use headcount_storage::{SequencerLease, StorageError, TileStore, conformance};
use headcount_tlog::{TileId, TileReader};

fn start_s3(bucket: &str) -> Option<S3Server> {
    match S3Server::start(bucket) {
        Ok(Some(s)) => Some(s),
        Ok(None) => {
            skip_or_fail(
                "s3s-fs is not installed (cargo install s3s-fs --version 0.14.1 --locked --features binary)",
            );
            None
        }
        Err(e) => panic!("could not start s3s-fs: {e}"),
    }
}

#[test]
fn tiles_are_create_only() {
    let Some(s3) = start_s3("tiles") else { return };
    let tiles = S3Tiles::new(&s3.location).unwrap();
    assert!(!tiles.has_tiles().unwrap());
    let id = TileId::parse_path("tile/0/000.p/3").unwrap();
    assert!(matches!(
        tiles.read_tile(id),
        Err(headcount_tlog::Error::TileNotFound(_))
    ));
    let a = vec![1u8; 96];
    tiles.write_tile(id, &a).unwrap();
    assert!(tiles.has_tiles().unwrap());
    // The same bytes again: a retried publish.
    tiles.write_tile(id, &a).unwrap();
    // Other bytes: refused, and the tile is unchanged.
    match tiles.write_tile(id, &[2u8; 96]) {
        Err(StorageError::TileConflict(path)) => assert_eq!(path, "tile/0/000.p/3"),
        other => panic!("overwrote a tile: {other:?}"),
    }
    assert_eq!(tiles.read_tile(id).unwrap(), a);
    // The public checkpoint may change.
    tiles.write_checkpoint(b"one").unwrap();
    tiles.write_checkpoint(b"two").unwrap();
    // Objects sit at the C2SP paths under the prefix (what a CDN serves).
    let on_disk = s3.root().join("tiles/logs/one/tile/0/000.p/3");
    assert_eq!(std::fs::read(on_disk).unwrap(), a);
    assert_eq!(
        std::fs::read(s3.root().join("tiles/logs/one/checkpoint")).unwrap(),
        b"two"
    );
}

#[test]
fn wrong_credentials_are_a_clear_error() {
    let Some(s3) = start_s3("creds") else { return };
    let mut bad = s3.location.clone();
    bad.secret_access_key = "not-the-secret".into();
    let tiles = S3Tiles::new(&bad).unwrap();
    let id = TileId::parse_path("tile/0/000.p/1").unwrap();
    match tiles.write_tile(id, &[1u8; 32]) {
        Err(StorageError::Backend { backend, .. }) => assert_eq!(backend, "s3"),
        other => panic!("wrote with a wrong secret: {other:?}"),
    }
    let good = S3Tiles::new(&s3.location).unwrap();
    assert!(!good.has_tiles().unwrap(), "nothing was written");
}

#[test]
fn postgres_commit_point_with_s3_tiles_passes_the_conformance_suite() {
    let Some(s3) = start_s3("conformance") else {
        return;
    };
    let pg = match Cluster::start() {
        Ok(Some(c)) => c,
        Ok(None) => return skip_or_fail("PostgreSQL (initdb, pg_ctl) is not installed"),
        Err(e) => panic!("could not start PostgreSQL: {e}"),
    };
    let store = PgStore::connect(&pg.url(), "s3_commit", 4).unwrap();
    let token = store
        .lease()
        .try_acquire("test", Duration::from_secs(60))
        .unwrap();
    let tiles: Arc<dyn TileStore> = Arc::new(S3Tiles::new(&s3.location).unwrap());
    let checkpoint = store.checkpoint(token, Arc::clone(&tiles));
    conformance::checkpoint_cas(&checkpoint, tiles.as_ref());
}
