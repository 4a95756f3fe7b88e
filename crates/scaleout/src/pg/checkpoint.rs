//! The commit point on PostgreSQL, Sunlight's way: a round's tiles are
//! staged in the same transaction that compare-and-swaps the checkpoint of
//! record (fenced by the lease token), and only then uploaded to the tile
//! store, followed by the public checkpoint. A crash after the swap loses
//! nothing: whoever holds the lease next publishes the staged round first.
//! So the tile store only ever receives tiles of committed rounds, and its
//! tiles can be immutable (create-only in object storage).

use std::sync::Arc;

use headcount_storage::checkpoint::StagedTiles;
use headcount_storage::{CheckpointStore, FencingToken, StorageError, TileStore};
use headcount_tlog::TileId;

use super::{PgStore, check_fence, pg_err};

/// The checkpoint of record in PostgreSQL, published to a tile store.
pub struct PgCheckpoint {
    store: PgStore,
    token: FencingToken,
    tiles: Arc<dyn TileStore>,
}

impl PgCheckpoint {
    pub(super) fn new(store: PgStore, token: FencingToken, tiles: Arc<dyn TileStore>) -> Self {
        PgCheckpoint {
            store,
            token,
            tiles,
        }
    }
}

impl CheckpointStore for PgCheckpoint {
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            let row = c
                .query_opt("SELECT note FROM log_checkpoint WHERE id = 1", &[])
                .await
                .map_err(pg_err)?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn compare_and_swap(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        tiles: &StagedTiles,
    ) -> Result<(), StorageError> {
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            let row = tx
                .query_opt(
                    "SELECT note, published FROM log_checkpoint WHERE id = 1 FOR UPDATE",
                    &[],
                )
                .await
                .map_err(pg_err)?;
            let current: Option<Vec<u8>> = row.as_ref().map(|r| r.get(0));
            if current.as_deref() != old {
                return Err(StorageError::CheckpointConflict);
            }
            if row.is_some_and(|r| !r.get::<_, bool>(1)) {
                return Err(StorageError::backend(
                    "postgres",
                    "the previous round is not published yet",
                ));
            }
            tx.execute("DELETE FROM staged_tiles", &[])
                .await
                .map_err(pg_err)?;
            let ins = tx
                .prepare_cached("INSERT INTO staged_tiles (path, data) VALUES ($1, $2)")
                .await
                .map_err(pg_err)?;
            for (id, data) in tiles {
                tx.execute(&ins, &[&id.path(), data])
                    .await
                    .map_err(pg_err)?;
            }
            tx.execute(
                "INSERT INTO log_checkpoint (id, note, published) VALUES (1, $1, false)
                 ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note, published = false",
                &[&new],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)
        })
    }

    fn publish(&self) -> Result<(), StorageError> {
        let pending = self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            let row = c
                .query_opt(
                    "SELECT note FROM log_checkpoint WHERE id = 1 AND NOT published",
                    &[],
                )
                .await
                .map_err(pg_err)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let tiles = c
                .query("SELECT path, data FROM staged_tiles ORDER BY path", &[])
                .await
                .map_err(pg_err)?;
            let note: Vec<u8> = row.get(0);
            let tiles: Vec<(String, Vec<u8>)> =
                tiles.iter().map(|r| (r.get(0), r.get(1))).collect();
            Ok::<_, StorageError>(Some((note, tiles)))
        })?;
        let Some((note, tiles)) = pending else {
            return Ok(());
        };
        // Tiles first, then the checkpoint that covers them.
        for (path, data) in &tiles {
            let id = TileId::parse_path(path)
                .map_err(|e| StorageError::Corrupt(format!("staged tile {path}: {e}")))?;
            self.tiles.write_tile(id, data)?;
        }
        // Only the lease holder writes the public checkpoint: a deposed
        // holder waking up here must not put an older one back. (The check
        // and the write are not atomic; the window is one object write.)
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await
        })?;
        self.tiles.write_checkpoint(&note)?;
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            let n = tx
                .execute(
                    "UPDATE log_checkpoint SET published = true WHERE id = 1 AND note = $1",
                    &[&note],
                )
                .await
                .map_err(pg_err)?;
            if n == 1 {
                tx.execute("DELETE FROM staged_tiles", &[])
                    .await
                    .map_err(pg_err)?;
            }
            tx.commit().await.map_err(pg_err)
        })
    }
}
