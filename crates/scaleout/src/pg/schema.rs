//! The PostgreSQL schema: the SQLite backend's tables, plus the lease, the
//! checkpoint of record and the staged tiles of the round being published.

use deadpool_postgres::Pool;
use headcount_storage::StorageError;

use super::pg_err;

const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    hash BYTEA PRIMARY KEY,
    leaf_index BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    receipt_size BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS registrars (
    id BYTEA PRIMARY KEY,
    leaf_index BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    entry BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS periods (
    registrar BYTEA NOT NULL,
    period BIGINT NOT NULL,
    size BIGINT NOT NULL,
    leaf_index BIGINT NOT NULL,
    entry_hash BYTEA NOT NULL,
    PRIMARY KEY (registrar, period)
);
CREATE TABLE IF NOT EXISTS retirements (
    registrar BYTEA PRIMARY KEY,
    leaf_index BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    id BYTEA PRIMARY KEY,
    leaf_index BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    entry BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS declarations (
    leaf_index BIGINT PRIMARY KEY,
    campaign BYTEA NOT NULL,
    kind TEXT NOT NULL,
    timestamp BIGINT NOT NULL,
    registrar BYTEA,
    period BIGINT,
    pseudonym BYTEA,
    alias TEXT,
    message TEXT,
    reference BYTEA
);
CREATE INDEX IF NOT EXISTS campaigns_by_leaf ON campaigns (leaf_index);
CREATE INDEX IF NOT EXISTS declarations_by_campaign ON declarations (campaign, leaf_index);
CREATE INDEX IF NOT EXISTS declarations_by_pseudonym ON declarations (pseudonym) WHERE pseudonym IS NOT NULL;
CREATE INDEX IF NOT EXISTS declarations_by_reference ON declarations (reference) WHERE reference IS NOT NULL;
CREATE INDEX IF NOT EXISTS declarations_withdrawals ON declarations (campaign, leaf_index) WHERE kind = 'withdrawal';
CREATE TABLE IF NOT EXISTS attestations (
    auditor TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    received BIGINT NOT NULL,
    note BYTEA NOT NULL,
    PRIMARY KEY (auditor, tree_size)
);
CREATE TABLE IF NOT EXISTS tallies (
    campaign BYTEA NOT NULL,
    tree_size BIGINT NOT NULL,
    json TEXT NOT NULL,
    credible BIGINT NOT NULL,
    credentialed BIGINT NOT NULL,
    vouched BIGINT NOT NULL,
    unverified BIGINT NOT NULL,
    note BYTEA,
    PRIMARY KEY (campaign, tree_size)
);
CREATE TABLE IF NOT EXISTS lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT NOT NULL,
    holder TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS log_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    note BYTEA NOT NULL,
    published BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS staged_tiles (path TEXT PRIMARY KEY, data BYTEA NOT NULL);
"#;

/// Creates the schema and its tables if missing (concurrent callers wait on
/// an advisory lock, so two processes starting at once do not collide).
pub(super) async fn migrate(pool: &Pool, schema: &str) -> Result<(), StorageError> {
    let mut client = pool.get().await.map_err(pg_err)?;
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock(7301514)", &[])
        .await
        .map_err(pg_err)?;
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .map_err(pg_err)?;
    tx.batch_execute(TABLES).await.map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)
}
