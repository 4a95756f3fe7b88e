//! The storage conformance suite (`headcount_storage::conformance`) on the
//! default backend: the file system + SQLite + `flock`. The same checks run
//! on PostgreSQL + S3 in `headcount-scaleout`.

use headcount_server::derived::{Derived, ReadPool};
use headcount_server::fs::{FsCheckpoint, FsLease};
use headcount_server::tiles::FsTiles;
use headcount_storage::conformance;

#[test]
fn sqlite_derived_state_and_read_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut writer = Derived::open(&path).unwrap();
    let reads = ReadPool::new(&path);
    conformance::derived_state(&mut writer, &reads);
}

#[test]
fn file_system_checkpoint_and_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = FsTiles::new(dir.path().join("log"));
    let checkpoint = FsCheckpoint::new(tiles.clone());
    conformance::checkpoint_cas(&checkpoint, &tiles);
    // The commit point is the file readers fetch.
    assert_eq!(
        std::fs::read(dir.path().join("log/checkpoint")).unwrap(),
        b"checkpoint B"
    );
}

#[test]
fn flock_lease() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lock");
    let (a, b) = (FsLease::new(&path), FsLease::new(&path));
    conformance::lease(&a, &b);
}
