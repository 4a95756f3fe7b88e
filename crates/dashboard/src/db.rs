//! Read-only queries on the server's derived state (the SQLite schema of
//! `headcount_server::derived`). Every query here is an indexed lookup or a
//! bounded range scan: no page scans the log or a whole table.

use std::path::Path;

use headcount_core::entry::{Campaign, Entry, Registrar};
use headcount_core::{CampaignId, CampaignTally, Period, RegistrarId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// A dashboard error: the page shows a plain 500 and nothing of the cause.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(format!("sqlite: {e}"))
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        DbError(format!("stored tally: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, DbError>;

/// The partial index this crate adds to the derived state: withdrawals of a
/// campaign, newest first, without scanning its declarations. It is derived
/// like everything else in that database (and cheap: withdrawals are rare).
pub const WITHDRAWAL_INDEX: &str = "CREATE INDEX IF NOT EXISTS dashboard_withdrawals \
     ON declarations (campaign, leaf_index) WHERE kind = 'withdrawal'";

/// Creates the dashboard's index (one read-write connection, closed at once).
/// Failure is not fatal: the withdrawals query then falls back to a bounded scan.
pub fn ensure_indexes(path: &Path) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(WITHDRAWAL_INDEX)?;
    Ok(())
}

/// A campaign entry with where it sits in the log.
#[derive(Clone, Debug)]
pub struct CampaignRow {
    pub leaf_index: u64,
    pub timestamp: u64,
    pub campaign: Campaign,
}

/// A registrar entry with where it sits in the log.
#[derive(Clone, Debug)]
pub struct RegistrarRow {
    pub leaf_index: u64,
    pub timestamp: u64,
    pub registrar: Registrar,
}

/// A logged issuance period (calendar month).
#[derive(Clone, Debug)]
pub struct PeriodRow {
    pub period: Period,
    pub size: u32,
    pub leaf_index: u64,
}

/// A row of the `declarations` table.
#[derive(Clone, Debug)]
pub struct DeclRow {
    pub leaf_index: u64,
    pub campaign: CampaignId,
    pub kind: String,
    pub timestamp: u64,
    pub registrar: Option<RegistrarId>,
    pub period: Option<Period>,
    pub pseudonym: Option<Vec<u8>>,
    pub alias: Option<String>,
    pub message: Option<String>,
    /// The next entry of the same person in the campaign (same pseudonym, or
    /// same registrar and vouch reference) within the tree shown: its leaf
    /// index and kind. Filled only by [`Db::declarations`].
    pub next: Option<(u64, String)>,
}

/// Where a row of a campaign's list stands in the count at the tree size shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Counted in the credible count (credentialed or vouched).
    Counted,
    /// Counted in the unverified column, apart from the credible count.
    CountedApart,
    /// Replaced by a later declaration of the same person (at this leaf).
    Replaced(u64),
    /// Withdrawn (by the withdrawal at this leaf).
    Withdrawn(u64),
    /// A withdrawal: it removes a declaration and is not counted itself.
    Withdrawal,
}

impl DeclRow {
    /// Where this row stands, from its kind and the person's next entry.
    pub fn standing(&self) -> Standing {
        match (self.kind.as_str(), &self.next) {
            ("withdrawal", _) => Standing::Withdrawal,
            ("unverified-declaration", _) => Standing::CountedApart,
            (_, Some((i, k))) if k == "withdrawal" => Standing::Withdrawn(*i),
            (_, Some((i, _))) => Standing::Replaced(*i),
            (_, None) => Standing::Counted,
        }
    }
}

/// Which rows of a campaign's list to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Show {
    /// Only the rows that count now (the figures above the list count them).
    #[default]
    Counted,
    /// Every entry, each marked counted, replaced, withdrawn or withdrawal.
    All,
}

/// One point of a campaign's history: the tally at a tree size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub tree_size: u64,
    pub credible: u64,
    pub credentialed: u64,
    pub vouched: u64,
    pub unverified: u64,
}

/// A read-only connection to the derived state.
pub struct Db {
    conn: Connection,
}

const DECL_COLUMNS: &str =
    "leaf_index, campaign, kind, timestamp, registrar, period, pseudonym, alias, message";

fn decl_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeclRow> {
    let id32 = |v: Option<Vec<u8>>| v.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
    Ok(DeclRow {
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

impl Db {
    /// Opens the database at `path` read-only.
    pub fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Db { conn })
    }

    /// Wraps an open connection (benches and tests).
    pub fn from_connection(conn: Connection) -> Db {
        Db { conn }
    }

    /// Every campaign, oldest first. Campaigns are few (each is an organiser's
    /// signed entry), so they are listed whole.
    pub fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT leaf_index, timestamp, entry FROM campaigns ORDER BY leaf_index",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (leaf_index, timestamp, bytes) = row?;
            if let Ok(Entry::Campaign(campaign)) = Entry::decode(&bytes) {
                out.push(CampaignRow {
                    leaf_index,
                    timestamp,
                    campaign,
                });
            }
        }
        Ok(out)
    }

    /// One campaign by id (primary key).
    pub fn campaign(&self, id: &CampaignId) -> Result<Option<CampaignRow>> {
        let row = self
            .conn
            .prepare_cached("SELECT leaf_index, timestamp, entry FROM campaigns WHERE id = ?1")?
            .query_row(params![&id.0[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?;
        Ok(row.and_then(
            |(leaf_index, timestamp, bytes)| match Entry::decode(&bytes) {
                Ok(Entry::Campaign(campaign)) => Some(CampaignRow {
                    leaf_index,
                    timestamp,
                    campaign,
                }),
                _ => None,
            },
        ))
    }

    /// One registrar by id (primary key).
    pub fn registrar(&self, id: &RegistrarId) -> Result<Option<RegistrarRow>> {
        let row = self
            .conn
            .prepare_cached("SELECT leaf_index, timestamp, entry FROM registrars WHERE id = ?1")?
            .query_row(params![&id.0[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?;
        Ok(row.and_then(
            |(leaf_index, timestamp, bytes)| match Entry::decode(&bytes) {
                Ok(Entry::Registrar(registrar)) => Some(RegistrarRow {
                    leaf_index,
                    timestamp,
                    registrar,
                }),
                _ => None,
            },
        ))
    }

    /// A registrar's display name (for tables), if it is in the log.
    pub fn registrar_name(&self, id: &RegistrarId) -> Result<Option<String>> {
        Ok(self.registrar(id)?.map(|r| r.registrar.name))
    }

    /// Every registrar, oldest first (few: each is a signed entry).
    pub fn registrars(&self) -> Result<Vec<RegistrarRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT leaf_index, timestamp, entry FROM registrars ORDER BY leaf_index",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (leaf_index, timestamp, bytes) = row?;
            if let Ok(Entry::Registrar(registrar)) = Entry::decode(&bytes) {
                out.push(RegistrarRow {
                    leaf_index,
                    timestamp,
                    registrar,
                });
            }
        }
        Ok(out)
    }

    /// The issuance periods a registrar logged (primary-key prefix scan).
    pub fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT period, size, leaf_index FROM periods
             WHERE registrar = ?1 ORDER BY period",
        )?;
        let rows = st.query_map(params![&registrar.0[..]], |r| {
            Ok(PeriodRow {
                period: Period(r.get(0)?),
                size: r.get(1)?,
                leaf_index: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The registrar's retirement: (leaf, timestamp, reason), if it retired its keys.
    pub fn retirement(&self, registrar: &RegistrarId) -> Result<Option<(u64, u64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT leaf_index, timestamp, reason FROM retirements WHERE registrar = ?1",
                params![&registrar.0[..]],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get(2)?,
                    ))
                },
            )
            .optional()?)
    }

    /// The campaign's tally as of `tree_size` (the latest stored at or below
    /// it, restated at `tree_size`), exactly as the JSON API computes it.
    pub fn tally_at(&self, campaign: &CampaignId, tree_size: u64) -> Result<Option<CampaignTally>> {
        let json: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT json FROM tallies WHERE campaign = ?1 AND tree_size <= ?2
                 ORDER BY tree_size DESC LIMIT 1",
            )?
            .query_row(params![&campaign.0[..], tree_size as i64], |r| r.get(0))
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

    /// Up to `points + 1` evenly spaced samples of the campaign's tally
    /// history up to `tree_size`: each an indexed lookup of the latest tally
    /// at or below the sample's tree size, reading only the four counts
    /// (`json_extract`), so the cost does not grow with the history.
    pub fn history(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
        points: u64,
    ) -> Result<Vec<Point>> {
        let first: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT tree_size FROM tallies WHERE campaign = ?1 ORDER BY tree_size LIMIT 1",
            )?
            .query_row(params![&campaign.0[..]], |r| r.get(0))
            .optional()?;
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let first = first as u64;
        if first > tree_size {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare_cached(
            "SELECT tree_size, json_extract(json, '$.credible'), json_extract(json, '$.credentialed'),
                    json_extract(json, '$.vouched'), json_extract(json, '$.unverified')
             FROM tallies WHERE campaign = ?1 AND tree_size <= ?2 ORDER BY tree_size DESC LIMIT 1",
        )?;
        let points = points.max(1);
        let span = tree_size - first;
        let mut out: Vec<Point> = Vec::with_capacity(points as usize + 1);
        for i in 0..=points {
            let at = first + (span as u128 * i as u128 / points as u128) as u64;
            let p = st
                .query_row(params![&campaign.0[..], at as i64], |r| {
                    Ok(Point {
                        tree_size: at,
                        credible: r.get::<_, i64>(1)? as u64,
                        credentialed: r.get::<_, i64>(2)? as u64,
                        vouched: r.get::<_, i64>(3)? as u64,
                        unverified: r.get::<_, i64>(4)? as u64,
                    })
                })
                .optional()?;
            if let Some(p) = p {
                if out.last().is_some_and(|l| l.tree_size == p.tree_size) {
                    continue;
                }
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Declarations of a campaign in the tree of `size` leaves, newest first,
    /// below `before`, each with the person's next entry (which makes it
    /// replaced or withdrawn). [`Show::Counted`] keeps only the rows that
    /// count at `size`, so that the rows agree with the tally's figures.
    pub fn declarations(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclRow>> {
        let cols = DECL_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match show {
            Show::Counted => "WHERE x.kind != 'withdrawal' AND x.next IS NULL",
            Show::All => "",
        };
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT x.*, n.kind FROM (
               SELECT {cols}, (
                 SELECT m.leaf_index FROM declarations m
                 WHERE m.campaign = d.campaign AND m.leaf_index > d.leaf_index AND m.leaf_index < ?3
                   AND ((d.pseudonym IS NOT NULL AND m.pseudonym = d.pseudonym)
                     OR (d.reference IS NOT NULL AND m.reference = d.reference
                         AND m.registrar = d.registrar))
                 ORDER BY m.leaf_index LIMIT 1) AS next
               FROM declarations d
               WHERE d.campaign = ?1 AND d.leaf_index < min(?2, ?3)
               ORDER BY d.leaf_index DESC) x
             LEFT JOIN declarations n ON n.leaf_index = x.next
             {filter}
             ORDER BY x.leaf_index DESC LIMIT ?4"
        ))?;
        let clamp = |v: u64| v.min(i64::MAX as u64) as i64;
        let before = before.map_or(i64::MAX, clamp);
        let rows = st.query_map(params![&campaign.0[..], before, clamp(size), limit], |r| {
            let mut d = decl_row(r)?;
            let next: Option<i64> = r.get(9)?;
            let kind: Option<String> = r.get(10)?;
            d.next = next.zip(kind).map(|(i, k)| (i as u64, k));
            Ok(d)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Withdrawals of a campaign, newest first (the dashboard's partial index).
    pub fn withdrawals(&self, campaign: &CampaignId, limit: u32) -> Result<Vec<DeclRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {DECL_COLUMNS} FROM declarations
             WHERE campaign = ?1 AND kind = 'withdrawal' ORDER BY leaf_index DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![&campaign.0[..], limit], decl_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The entries with this pseudonym (its declarations and withdrawals).
    pub fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {DECL_COLUMNS} FROM declarations WHERE pseudonym = ?1 ORDER BY leaf_index LIMIT 100"
        ))?;
        let rows = st.query_map(params![pseudonym], decl_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The leaf index of an entry by its hash.
    pub fn by_entry_hash(&self, hash: &[u8; 32]) -> Result<Option<u64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT leaf_index FROM entries WHERE hash = ?1")?
            .query_row(params![&hash[..]], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|i| i as u64))
    }

    /// The checkpoint note the server stored at exactly `size`.
    pub fn checkpoint_note(&self, size: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT note FROM checkpoints WHERE size = ?1")?
            .query_row(params![size as i64], |r| r.get(0))
            .optional()?)
    }
}

/// A stored attestation: (auditor, tree size, verdict, received, signed note).
pub type AttestationRow = (String, u64, String, u64, Vec<u8>);

impl Db {
    /// Auditors' attestations, newest tree first: (auditor, tree size,
    /// verdict, received, signed note). Empty if the table does not exist.
    pub fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>> {
        let st = self.conn.prepare_cached(
            "SELECT auditor, tree_size, verdict, received, note FROM attestations
             ORDER BY tree_size DESC, auditor LIMIT ?1",
        );
        let Ok(mut st) = st else {
            return Ok(Vec::new());
        };
        let rows = st.query_map(params![limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)? as u64,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
