//! Derived state in SQLite: everything here can be rebuilt from the log.
//!
//! The log (tiles + checkpoint) is the only source of truth. This database
//! indexes it for the API and the dashboard: which entry hash sits at which
//! index (idempotent resubmission), campaigns, registrars, issuance periods, retirements,
//! declarations, the checkpoints the server signed, and each campaign's tally
//! at every checkpoint where it changed. `applied_size` says how far it has
//! caught up; at start-up the server applies whatever the log has beyond it,
//! and a missing database is rebuilt from leaf 0.

use std::path::Path;

use headcount_core::entry::Entry;
use headcount_core::{CampaignId, CampaignTally, EntryHash, Period, RegistrarId};
use rusqlite::{Connection, OptionalExtension, params};

/// A derived-state error.
#[derive(Debug, thiserror::Error)]
pub enum DerivedError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored tally is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a read task failed: {0}")]
    Task(String),
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    hash BLOB PRIMARY KEY,
    leaf_index INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    receipt_size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS registrars (
    id BLOB PRIMARY KEY,
    leaf_index INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    entry BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS periods (
    registrar BLOB NOT NULL,
    period INTEGER NOT NULL,
    size INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL,
    entry_hash BLOB NOT NULL,
    PRIMARY KEY (registrar, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retirements (
    registrar BLOB PRIMARY KEY,
    leaf_index INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    reason TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS campaigns (
    id BLOB PRIMARY KEY,
    leaf_index INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    entry BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS declarations (
    leaf_index INTEGER PRIMARY KEY,
    campaign BLOB NOT NULL,
    kind TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    registrar BLOB,
    period INTEGER,
    pseudonym BLOB,
    alias TEXT,
    message TEXT,
    reference BLOB
);
CREATE INDEX IF NOT EXISTS campaigns_by_leaf ON campaigns (leaf_index);
CREATE INDEX IF NOT EXISTS declarations_by_campaign ON declarations (campaign, leaf_index);
CREATE INDEX IF NOT EXISTS declarations_by_pseudonym ON declarations (pseudonym) WHERE pseudonym IS NOT NULL;
DROP TABLE IF EXISTS tally_notes;
CREATE TABLE IF NOT EXISTS attestations (
    auditor TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    received INTEGER NOT NULL,
    note BLOB NOT NULL,
    PRIMARY KEY (auditor, tree_size)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tallies (
    campaign BLOB NOT NULL,
    tree_size INTEGER NOT NULL,
    json TEXT NOT NULL,
    note BLOB,
    PRIMARY KEY (campaign, tree_size)
) WITHOUT ROWID;
"#;

pub use headcount_storage::AppliedLeaf;
pub use headcount_storage::rows::{
    AttestationRow, DeclarationRow, EntityRow, Located, PeriodRow, RetirementRow, SignedNote,
};

impl From<DerivedError> for headcount_storage::StorageError {
    fn from(e: DerivedError) -> Self {
        match e {
            DerivedError::Json(e) => e.into(),
            e => headcount_storage::StorageError::backend("sqlite", e),
        }
    }
}

/// Read-only connections to the derived state, for the API: each read runs
/// on a blocking thread (never on the async runtime) with a connection of its
/// own, so a slow read does not hold up the others. Idle connections are
/// kept for reuse, up to [`ReadPool::MAX_IDLE`].
pub struct ReadPool {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<Derived>>,
}

impl ReadPool {
    /// Idle connections kept open.
    pub const MAX_IDLE: usize = 16;

    pub fn new(path: &Path) -> Self {
        ReadPool {
            path: path.to_owned(),
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a read-only connection (call from a blocking thread).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Derived) -> Result<T, DerivedError>,
    ) -> Result<T, DerivedError> {
        let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => Derived::open_read_only(&self.path)?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < Self::MAX_IDLE {
            idle.push(conn);
        }
        out
    }
}

/// The SQLite database of derived state.
pub struct Derived {
    conn: Connection,
}

impl Derived {
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DerivedError> {
        let conn = Connection::open(path)?;
        // Derived state can be rebuilt from the log, so NORMAL durability is enough.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )?;
        conn.execute_batch(SCHEMA)?;
        // Databases from before per-campaign tally notes: add the column.
        let has_note: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('tallies') WHERE name = 'note'")?
            .exists([])?;
        if !has_note {
            conn.execute_batch("ALTER TABLE tallies ADD COLUMN note BLOB")?;
        }
        let mut d = Derived { conn };
        d.migrate()?;
        Ok(d)
    }

    /// A read-only connection to an existing database (the API's reads).
    pub fn open_read_only(path: &Path) -> Result<Self, DerivedError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch("PRAGMA busy_timeout=5000;")?;
        Ok(Derived { conn })
    }

    /// Brings a database written by an older version up to this schema. A
    /// column the older version did not fill cannot be back-filled from the
    /// database alone, so the derived state is reset and rebuilt from the log
    /// at start-up.
    fn migrate(&mut self) -> Result<(), DerivedError> {
        let has_reference: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info('declarations') WHERE name = 'reference'",
            [],
            |r| r.get(0),
        )?;
        if !has_reference {
            self.conn
                .execute_batch("ALTER TABLE declarations ADD COLUMN reference BLOB;")?;
            self.reset()?;
        }
        self.conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS declarations_by_reference ON declarations (reference)
             WHERE reference IS NOT NULL;",
        )?;
        // Withdrawals of a campaign, newest first, without scanning its
        // declarations (the dashboard's list; withdrawals are rare).
        self.conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS dashboard_withdrawals ON declarations (campaign, leaf_index)
             WHERE kind = 'withdrawal';",
        )?;
        Ok(())
    }

    /// Forgets everything (before a rebuild from leaf 0).
    pub fn reset(&mut self) -> Result<(), DerivedError> {
        self.conn.execute_batch(
            "DELETE FROM meta; DELETE FROM entries; DELETE FROM checkpoints; DELETE FROM registrars;
             DELETE FROM periods; DELETE FROM retirements; DELETE FROM campaigns; DELETE FROM declarations; DELETE FROM tallies;",
        )?;
        Ok(())
    }

    /// How many leaves have been applied.
    pub fn applied_size(&self) -> Result<u64, DerivedError> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'applied_size'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Applies leaves `[first, first + leaves.len())`, the checkpoint that
    /// commits them (if the server signed one for this size), and the tallies
    /// of the campaigns they changed, each with its signed tally note if
    /// there is one, in one transaction.
    pub fn apply(
        &mut self,
        leaves: &[AppliedLeaf<'_>],
        tree_size: u64,
        checkpoint: Option<&[u8]>,
        tallies: &[(CampaignTally, Option<Vec<u8>>)],
    ) -> Result<(), DerivedError> {
        let tx = self.conn.transaction()?;
        {
            let mut ins_entry = tx.prepare_cached(
                "INSERT OR IGNORE INTO entries (hash, leaf_index, timestamp, receipt_size) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut ins_decl = tx.prepare_cached(
                "INSERT OR REPLACE INTO declarations (leaf_index, campaign, kind, timestamp, registrar, period, pseudonym, alias, message, reference)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for l in leaves {
                let hash = l.leaf.entry_hash();
                let ts = l.leaf.timestamp.0 as i64;
                ins_entry.execute(params![&hash.0[..], l.index as i64, ts, tree_size as i64])?;
                let kind = l.entry.entry_type().name();
                match l.entry {
                    Entry::Registrar(r) => {
                        tx.execute(
                            "INSERT OR REPLACE INTO registrars (id, leaf_index, timestamp, entry) VALUES (?1, ?2, ?3, ?4)",
                            params![&r.id().0[..], l.index as i64, ts, &l.leaf.entry],
                        )?;
                    }
                    Entry::Campaign(c) => {
                        tx.execute(
                            "INSERT OR REPLACE INTO campaigns (id, leaf_index, timestamp, entry) VALUES (?1, ?2, ?3, ?4)",
                            params![&c.id().0[..], l.index as i64, ts, &l.leaf.entry],
                        )?;
                    }
                    Entry::IssuancePeriod(b) => {
                        tx.execute(
                            "INSERT OR REPLACE INTO periods (registrar, period, size, leaf_index, entry_hash)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![&b.registrar.0[..], b.period.0, b.size, l.index as i64, &hash.0[..]],
                        )?;
                    }
                    Entry::RegistrarRetirement(r) => {
                        tx.execute(
                            "INSERT OR REPLACE INTO retirements (registrar, leaf_index, timestamp, reason)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![&r.registrar.0[..], l.index as i64, ts, &r.reason],
                        )?;
                    }
                    Entry::Declaration(d) => {
                        ins_decl.execute(params![
                            l.index as i64,
                            &d.campaign.0[..],
                            kind,
                            ts,
                            &d.registrar.0[..],
                            d.period.0,
                            &d.pseudonym.0[..],
                            &d.alias,
                            &d.message,
                            None::<Vec<u8>>
                        ])?;
                    }
                    Entry::Withdrawal(d) => {
                        ins_decl.execute(params![
                            l.index as i64,
                            &d.campaign.0[..],
                            kind,
                            ts,
                            &d.registrar.0[..],
                            d.period.0,
                            &d.pseudonym.0[..],
                            None::<String>,
                            None::<String>,
                            None::<Vec<u8>>
                        ])?;
                    }
                    Entry::VouchedDeclaration(d) => {
                        ins_decl.execute(params![
                            l.index as i64,
                            &d.campaign.0[..],
                            kind,
                            ts,
                            &d.registrar.0[..],
                            None::<u32>,
                            None::<Vec<u8>>,
                            &d.alias,
                            &d.message,
                            &d.reference.0[..]
                        ])?;
                    }
                    Entry::UnverifiedDeclaration(d) => {
                        ins_decl.execute(params![
                            l.index as i64,
                            &d.campaign.0[..],
                            kind,
                            ts,
                            None::<Vec<u8>>,
                            None::<u32>,
                            None::<Vec<u8>>,
                            &d.alias,
                            &d.message,
                            None::<Vec<u8>>
                        ])?;
                    }
                }
            }
            if let Some(note) = checkpoint {
                tx.execute(
                    "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?1, ?2)",
                    params![tree_size as i64, note],
                )?;
            }
            let mut ins_tally = tx.prepare_cached(
                "INSERT OR REPLACE INTO tallies (campaign, tree_size, json, note) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (t, note) in tallies {
                ins_tally.execute(params![
                    &t.campaign.0[..],
                    t.tree_size as i64,
                    serde_json::to_string(t)?,
                    note
                ])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('applied_size', ?1)",
                params![tree_size as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Where an entry is: its leaf index, leaf timestamp, and the tree size
    /// its receipt is made against.
    pub fn lookup_entry(&self, hash: &EntryHash) -> Result<Option<Located>, DerivedError> {
        Ok(self
            .conn
            .query_row(
                "SELECT leaf_index, timestamp, receipt_size FROM entries WHERE hash = ?1",
                params![&hash.0[..]],
                |r| {
                    Ok(Located {
                        index: r.get::<_, i64>(0)? as u64,
                        timestamp: r.get::<_, i64>(1)? as u64,
                        receipt_size: r.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the stored checkpoint note of `size` (with cosignatures added),
    /// and moves the receipts of `entries` to that checkpoint.
    pub fn set_cosigned(
        &mut self,
        size: u64,
        note: &[u8],
        entries: &[EntryHash],
    ) -> Result<(), DerivedError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?1, ?2)",
            params![size as i64, note],
        )?;
        {
            let mut st =
                tx.prepare_cached("UPDATE entries SET receipt_size = ?1 WHERE hash = ?2")?;
            for h in entries {
                st.execute(params![size as i64, &h.0[..]])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The campaign's signed tally note that holds at `tree_size`: the one
    /// stored with its latest tally at or below it. `Ok(Some((size, None)))`
    /// when that tally has no note (a derived state rebuilt by an older server).
    pub fn tally_note_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<(u64, Option<SignedNote>)>, DerivedError> {
        Ok(self
            .conn
            .query_row(
                "SELECT tree_size, note FROM tallies WHERE campaign = ?1 AND tree_size <= ?2
                 ORDER BY tree_size DESC LIMIT 1",
                params![&campaign.0[..], tree_size as i64],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// Stores an auditor's attestation (replacing its earlier one for the same size).
    pub fn add_attestation(
        &mut self,
        auditor: &str,
        tree_size: u64,
        verdict: &str,
        received: u64,
        note: &[u8],
    ) -> Result<(), DerivedError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO attestations (auditor, tree_size, verdict, received, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![auditor, tree_size as i64, verdict, received as i64, note],
        )?;
        Ok(())
    }

    /// Attestations, newest tree first.
    pub fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>, DerivedError> {
        let mut st = self.conn.prepare_cached(
            "SELECT auditor, tree_size, verdict, received, note FROM attestations ORDER BY tree_size DESC, auditor LIMIT ?1",
        )?;
        let rows = st.query_map(params![limit], |r| {
            Ok(AttestationRow {
                auditor: r.get(0)?,
                tree_size: r.get::<_, i64>(1)? as u64,
                verdict: r.get(2)?,
                received: r.get::<_, i64>(3)? as u64,
                note: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(4)?).into_owned(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The checkpoint the server signed at exactly `size`.
    pub fn checkpoint(&self, size: u64) -> Result<Option<Vec<u8>>, DerivedError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM checkpoints WHERE size = ?1",
                params![size as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// One campaign entry by id (primary-key look-up): (leaf index, timestamp, entry bytes).
    pub fn campaign(&self, id: &CampaignId) -> Result<Option<(u64, u64, Vec<u8>)>, DerivedError> {
        self.entity_row(
            "SELECT leaf_index, timestamp, entry FROM campaigns WHERE id = ?1",
            &id.0,
        )
    }

    /// One registrar entry by id (primary-key look-up).
    pub fn registrar(&self, id: &RegistrarId) -> Result<Option<(u64, u64, Vec<u8>)>, DerivedError> {
        self.entity_row(
            "SELECT leaf_index, timestamp, entry FROM registrars WHERE id = ?1",
            &id.0,
        )
    }

    fn entity_row(
        &self,
        sql: &str,
        id: &[u8; 32],
    ) -> Result<Option<(u64, u64, Vec<u8>)>, DerivedError> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(params![&id[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?)
    }

    /// A page of campaign entries in log order, after leaf index `after`.
    pub fn campaigns_page(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, u64, Vec<u8>)>, DerivedError> {
        let mut st = self.conn.prepare_cached(
            "SELECT leaf_index, timestamp, entry FROM campaigns WHERE leaf_index > ?1 ORDER BY leaf_index LIMIT ?2",
        )?;
        let rows = st.query_map(params![after.map_or(-1, |a| a as i64), limit], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All campaign entries, oldest first: (leaf index, timestamp, entry bytes).
    pub fn campaigns(&self) -> Result<Vec<(u64, u64, Vec<u8>)>, DerivedError> {
        self.entity_rows("SELECT leaf_index, timestamp, entry FROM campaigns ORDER BY leaf_index")
    }

    /// All registrar entries, oldest first.
    pub fn registrars(&self) -> Result<Vec<(u64, u64, Vec<u8>)>, DerivedError> {
        self.entity_rows("SELECT leaf_index, timestamp, entry FROM registrars ORDER BY leaf_index")
    }

    fn entity_rows(&self, sql: &str) -> Result<Vec<(u64, u64, Vec<u8>)>, DerivedError> {
        let mut st = self.conn.prepare_cached(sql)?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The issuance periods a registrar logged, oldest month first.
    pub fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>, DerivedError> {
        let mut st = self.conn.prepare_cached(
            "SELECT period, size, leaf_index, entry_hash FROM periods WHERE registrar = ?1 ORDER BY period",
        )?;
        let rows = st.query_map(params![&registrar.0[..]], |r| {
            let period = Period(r.get(0)?);
            Ok(PeriodRow {
                period,
                month: period.to_string(),
                size: r.get(1)?,
                leaf_index: r.get::<_, i64>(2)? as u64,
                entry_hash: hex::encode(r.get::<_, Vec<u8>>(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The registrar's retirement, if it retired its keys.
    pub fn retirement(
        &self,
        registrar: &RegistrarId,
    ) -> Result<Option<RetirementRow>, DerivedError> {
        Ok(self
            .conn
            .query_row(
                "SELECT leaf_index, timestamp, reason FROM retirements WHERE registrar = ?1",
                params![&registrar.0[..]],
                |r| {
                    Ok(RetirementRow {
                        leaf_index: r.get::<_, i64>(0)? as u64,
                        timestamp: r.get::<_, i64>(1)? as u64,
                        reason: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// The campaign's tally as of `tree_size`: the latest stored tally at or
    /// below it, restated at `tree_size` (nothing changed in between).
    pub fn tally_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<CampaignTally>, DerivedError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT json FROM tallies WHERE campaign = ?1 AND tree_size <= ?2 ORDER BY tree_size DESC LIMIT 1",
                params![&campaign.0[..], tree_size as i64],
                |r| r.get(0),
            )
            .optional()?;
        match json {
            None => Ok(None),
            Some(j) => {
                let mut t: CampaignTally = serde_json::from_str(&j)?;
                t.tree_size = tree_size;
                Ok(Some(t))
            }
        }
    }

    /// Every stored tally of a campaign, oldest first: its history.
    pub fn tally_history(&self, campaign: &CampaignId) -> Result<Vec<CampaignTally>, DerivedError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT json FROM tallies WHERE campaign = ?1 ORDER BY tree_size")?;
        let rows = st.query_map(params![&campaign.0[..]], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for j in rows {
            out.push(serde_json::from_str(&j?)?);
        }
        Ok(out)
    }

    /// Declarations, withdrawals, vouched and unverified declarations of a
    /// campaign, newest first.
    pub fn declarations(
        &self,
        campaign: &CampaignId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, DerivedError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {DECL_COLUMNS} FROM declarations
             WHERE campaign = ?1 AND leaf_index < ?2 ORDER BY leaf_index DESC LIMIT ?3"
        ))?;
        let rows = st.query_map(
            params![&campaign.0[..], before.map_or(i64::MAX, clamp), limit],
            decl_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The columns [`decl_row`] reads, in order.
pub(crate) const DECL_COLUMNS: &str =
    "leaf_index, campaign, kind, timestamp, registrar, period, pseudonym, alias, message";

/// A leaf index or size as SQLite's signed integer (sizes beyond `i64::MAX` do not occur).
pub(crate) fn clamp(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

pub(crate) fn decl_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeclarationRow> {
    let id32 = |v: Option<Vec<u8>>| v.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
    Ok(DeclarationRow {
        leaf_index: r.get::<_, i64>(0)? as u64,
        campaign: CampaignId(id32(r.get(1)?).unwrap_or([0; 32])),
        kind: r.get(2)?,
        timestamp: r.get::<_, i64>(3)? as u64,
        registrar: id32(r.get(4)?).map(RegistrarId),
        period: r.get::<_, Option<u32>>(5)?.map(Period),
        pseudonym: r.get(6)?,
        alias: r.get(7)?,
        message: r.get(8)?,
        next: None,
    })
}
