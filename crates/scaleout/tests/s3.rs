//! Tiles in S3-compatible object storage: a real S3-protocol server
//! (`s3s-fs`, from the Rust package registry) started on a free loopback
//! port. Tiles are create-only (same bytes again succeed, other bytes are
//! refused and change nothing); with the PostgreSQL commit point they pass
//! the same conformance checks as the file system.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use headcount_scaleout::cluster::{Cluster, skip_or_fail};
use headcount_scaleout::pg::PgStore;
use headcount_scaleout::s3::{S3Location, S3Tiles};
use headcount_storage::{SequencerLease, StorageError, TileStore, conformance};
use headcount_tlog::{TileId, TileReader};

struct S3Server {
    child: Child,
    location: S3Location,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/s3s-fs"));
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("s3s-fs"))
        .chain(home)
        .find(|p| p.is_file())
}

fn start_s3(bucket: &str) -> Option<S3Server> {
    let Some(bin) = s3s_fs() else {
        skip_or_fail(
            "s3s-fs is not installed (cargo install s3s-fs --version 0.14.1 --locked --features binary)",
        );
        return None;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(bucket)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "test-key", "--secret-key", "test-secret"])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(S3Server {
        child,
        location: S3Location {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            prefix: "logs/one".into(),
            access_key_id: "test-key".into(),
            secret_access_key: "test-secret".into(),
        },
        _root: root,
    })
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
    let on_disk = s3._root.path().join("tiles/logs/one/tile/0/000.p/3");
    assert_eq!(std::fs::read(on_disk).unwrap(), a);
    assert_eq!(
        std::fs::read(s3._root.path().join("tiles/logs/one/checkpoint")).unwrap(),
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
