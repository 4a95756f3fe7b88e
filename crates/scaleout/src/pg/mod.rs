//! PostgreSQL behind the storage traits.
//!
//! One [`PgStore`] (a connection pool and the runtime that drives it) hands
//! out the role objects: [`PgStore::writer`], [`PgStore::read_model`],
//! [`PgStore::lease`], [`PgStore::checkpoint`]. The traits are blocking; each
//! call runs its future to completion on the calling thread while this
//! store's own runtime drives the connections (so it may be called from any
//! thread, the sequencer's or a blocking task's).
//!
//! Every table lives in one schema (`search_path`), so one database can hold
//! several logs, and each test gets its own schema.

mod checkpoint;
mod lease;
mod read;
mod schema;
mod write;

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use headcount_storage::{FencingToken, StorageError};

pub use checkpoint::PgCheckpoint;
pub use lease::PgLease;
pub use read::PgReadModel;
pub use write::PgWriter;

/// A PostgreSQL error, as a storage error.
pub(crate) fn pg_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::backend("postgres", e)
}

/// A connection pool to one schema of one database.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Always `Some` until dropped.
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle may go on an async runtime's thread (a log dropped
        // in a task), where waiting for this runtime's threads is not allowed.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), using `schema`
    /// (created if missing, with the tables), with at most `max_connections`.
    pub fn connect(
        url: &str,
        schema: &str,
        max_connections: usize,
    ) -> Result<PgStore, StorageError> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StorageError::backend(
                "postgres",
                format!("schema name {schema:?} must be lowercase letters, digits and _"),
            ));
        }
        let mut config: tokio_postgres::Config = url.parse().map_err(pg_err)?;
        config.options(format!("-c search_path={schema}"));
        config.application_name("headcount");
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("postgres")
            .enable_all()
            .build()
            .map_err(pg_err)?;
        let pool = {
            let _g = rt.enter();
            Pool::builder(manager)
                .max_size(max_connections.max(2))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .create_timeout(Some(std::time::Duration::from_secs(10)))
                .wait_timeout(Some(std::time::Duration::from_secs(30)))
                .build()
                .map_err(pg_err)?
        };
        let store = PgStore {
            inner: Arc::new(Inner { pool, rt: Some(rt) }),
        };
        store.block(schema::migrate(&store.inner.pool, schema))?;
        Ok(store)
    }

    /// Runs `f` to completion on this thread, with this store's runtime
    /// driving the connections.
    pub(crate) fn block<F: Future>(&self, f: F) -> F::Output {
        match &self.inner.rt {
            Some(rt) => {
                let _g = rt.enter();
                futures::executor::block_on(f)
            }
            None => unreachable!("the runtime lives as long as the store"),
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The derived state's writer, fenced by `token` (every write checks it).
    pub fn writer(&self, token: FencingToken) -> PgWriter {
        PgWriter::new(self.clone(), token)
    }

    /// The read model.
    pub fn read_model(&self) -> PgReadModel {
        PgReadModel::new(self.clone())
    }

    /// The sequencer lease.
    pub fn lease(&self) -> PgLease {
        PgLease::new(self.clone())
    }

    /// The commit point, fenced by `token`, publishing to `tiles`.
    pub fn checkpoint(
        &self,
        token: FencingToken,
        tiles: Arc<dyn headcount_storage::TileStore>,
    ) -> PgCheckpoint {
        PgCheckpoint::new(self.clone(), token, tiles)
    }
}

/// Checks, inside a write transaction, that `token` is still the lease's:
/// the row lock (`FOR SHARE`) keeps a takeover from committing until this
/// transaction ends, so a write that passes the check cannot race one.
pub(crate) async fn check_fence(
    tx: &deadpool_postgres::Transaction<'_>,
    token: FencingToken,
) -> Result<(), StorageError> {
    let row = tx
        .query_opt("SELECT token FROM lease WHERE id = 1 FOR SHARE", &[])
        .await
        .map_err(pg_err)?;
    match row.map(|r| r.get::<_, i64>(0)) {
        Some(t) if t == token.0 as i64 => Ok(()),
        _ => Err(StorageError::LeaseLost { token: token.0 }),
    }
}
