//! The commit point: compare-and-swap of the checkpoint, then publishing.

use headcount_tlog::{Appender, TreeSize, tree_root};

use crate::{CheckpointStore, StorageError, TileStore};

fn leaves(from: u32, n: u32) -> Vec<Vec<u8>> {
    (from..from + n)
        .map(|i| format!("leaf {i}").into_bytes())
        .collect()
}

/// Runs every check on an empty log: `tiles` is where `store` publishes.
pub fn checkpoint_cas(store: &dyn CheckpointStore, tiles: &dyn TileStore) {
    assert!(
        store.load().unwrap().is_none(),
        "a new log has no checkpoint"
    );
    assert!(!tiles.has_tiles().unwrap());

    let mut appender = Appender::empty();
    // 300 leaves: a full level-0 tile and bundle, and a partial one.
    let first = appender.append(&leaves(0, 300)).unwrap();
    store
        .compare_and_swap(None, b"checkpoint A", &first.tiles)
        .unwrap();
    store.publish().unwrap();
    assert_eq!(store.load().unwrap().as_deref(), Some(&b"checkpoint A"[..]));
    assert!(tiles.has_tiles().unwrap());
    for (id, data) in &first.tiles {
        assert_eq!(&tiles.read_tile(*id).unwrap(), data, "tile {}", id.path());
    }
    assert_eq!(tree_root(tiles, TreeSize(300)).unwrap(), first.root);

    let second = appender.append(&leaves(300, 20)).unwrap();
    // A stale or missing predecessor is refused, and nothing changes.
    for stale in [None, Some(&b"checkpoint Z"[..])] {
        match store.compare_and_swap(stale, b"checkpoint B", &second.tiles) {
            Err(StorageError::CheckpointConflict) => {}
            other => panic!("compare-and-swap from {stale:?}: {other:?}"),
        }
        assert_eq!(store.load().unwrap().as_deref(), Some(&b"checkpoint A"[..]));
    }
    let new_partial = second
        .tiles
        .iter()
        .find(|(id, _)| id.level.is_none() && id.width == 64)
        .map(|(id, _)| *id)
        .expect("a bundle of 64 leaves");
    store.publish().unwrap();
    assert!(
        matches!(
            tiles.read_tile(new_partial),
            Err(headcount_tlog::Error::TileNotFound(_))
        ),
        "a refused round's tiles are not published"
    );

    store
        .compare_and_swap(Some(b"checkpoint A"), b"checkpoint B", &second.tiles)
        .unwrap();
    store.publish().unwrap();
    // Publishing again is harmless.
    store.publish().unwrap();
    assert_eq!(store.load().unwrap().as_deref(), Some(&b"checkpoint B"[..]));
    assert_eq!(tree_root(tiles, TreeSize(320)).unwrap(), second.root);
    // Older trees stay provable.
    assert_eq!(tree_root(tiles, TreeSize(300)).unwrap(), first.root);
    // Rewriting a tile with its own contents (a re-upload after a crash) succeeds.
    let (id, data) = &second.tiles[0];
    tiles.write_tile(*id, data).unwrap();
    assert_eq!(&tiles.read_tile(*id).unwrap(), data);
}
