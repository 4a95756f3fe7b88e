//! The read model on PostgreSQL: the same queries as the SQLite backend,
//! each an indexed look-up or a bounded range scan.

use headcount_core::{CampaignId, CampaignTally, EntryHash, Period, RegistrarId};
use headcount_storage::rows::*;
use headcount_storage::{ReadModel, StorageError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{PgStore, pg_err};

/// Reads the derived state; see [`ReadModel`].
#[derive(Clone)]
pub struct PgReadModel {
    store: PgStore,
}

impl PgReadModel {
    pub(super) fn new(store: PgStore) -> Self {
        PgReadModel { store }
    }

    fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StorageError> {
        self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            let st = c.prepare_cached(sql).await.map_err(pg_err)?;
            c.query(&st, params).await.map_err(pg_err)
        })
    }

    fn row(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StorageError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// A size or leaf index as PostgreSQL's signed integer.
fn i(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn entity(r: &Row) -> EntityRow {
    EntityRow {
        leaf_index: u(r.get(0)),
        timestamp: u(r.get(1)),
        entry: r.get(2),
    }
}

const DECL_COLUMNS: &str =
    "leaf_index, campaign, kind, timestamp, registrar, period, pseudonym, alias, message";

fn decl(r: &Row) -> DeclarationRow {
    let id32 = |v: Option<Vec<u8>>| v.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
    DeclarationRow {
        leaf_index: u(r.get(0)),
        campaign: CampaignId(id32(r.get(1)).unwrap_or([0; 32])),
        kind: r.get(2),
        timestamp: u(r.get(3)),
        registrar: id32(r.get(4)).map(RegistrarId),
        period: r.get::<_, Option<i64>>(5).map(|p| Period(p as u32)),
        pseudonym: r.get(6),
        alias: r.get(7),
        message: r.get(8),
        next: None,
    }
}

fn tally(json: &str, tree_size: u64) -> Result<CampaignTally, StorageError> {
    let mut t: CampaignTally = serde_json::from_str(json)?;
    t.tree_size = tree_size;
    Ok(t)
}

impl ReadModel for PgReadModel {
    fn lookup_entry(&self, hash: &EntryHash) -> Result<Option<Located>, StorageError> {
        let r = self.row(
            "SELECT leaf_index, timestamp, receipt_size FROM entries WHERE hash = $1",
            &[&&hash.0[..]],
        )?;
        Ok(r.map(|r| Located {
            index: u(r.get(0)),
            timestamp: u(r.get(1)),
            receipt_size: u(r.get(2)),
        }))
    }

    fn checkpoint(&self, size: u64) -> Result<Option<SignedNote>, StorageError> {
        let r = self.row("SELECT note FROM checkpoints WHERE size = $1", &[&i(size)])?;
        Ok(r.map(|r| r.get(0)))
    }

    fn campaign(&self, id: &CampaignId) -> Result<Option<EntityRow>, StorageError> {
        let r = self.row(
            "SELECT leaf_index, timestamp, entry FROM campaigns WHERE id = $1",
            &[&&id.0[..]],
        )?;
        Ok(r.as_ref().map(entity))
    }

    fn campaigns_page(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EntityRow>, StorageError> {
        let after = after.map_or(-1, i);
        let rows = self.rows(
            "SELECT leaf_index, timestamp, entry FROM campaigns WHERE leaf_index > $1
             ORDER BY leaf_index LIMIT $2",
            &[&after, &(limit as i64)],
        )?;
        Ok(rows.iter().map(entity).collect())
    }

    fn campaigns(&self) -> Result<Vec<EntityRow>, StorageError> {
        let rows = self.rows(
            "SELECT leaf_index, timestamp, entry FROM campaigns ORDER BY leaf_index",
            &[],
        )?;
        Ok(rows.iter().map(entity).collect())
    }

    fn registrar(&self, id: &RegistrarId) -> Result<Option<EntityRow>, StorageError> {
        let r = self.row(
            "SELECT leaf_index, timestamp, entry FROM registrars WHERE id = $1",
            &[&&id.0[..]],
        )?;
        Ok(r.as_ref().map(entity))
    }

    fn registrars(&self) -> Result<Vec<EntityRow>, StorageError> {
        let rows = self.rows(
            "SELECT leaf_index, timestamp, entry FROM registrars ORDER BY leaf_index",
            &[],
        )?;
        Ok(rows.iter().map(entity).collect())
    }

    fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>, StorageError> {
        let rows = self.rows(
            "SELECT period, size, leaf_index, entry_hash FROM periods WHERE registrar = $1
             ORDER BY period",
            &[&&registrar.0[..]],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let period = Period(r.get::<_, i64>(0) as u32);
                PeriodRow {
                    period,
                    month: period.to_string(),
                    size: r.get::<_, i64>(1) as u32,
                    leaf_index: u(r.get(2)),
                    entry_hash: hex::encode(r.get::<_, Vec<u8>>(3)),
                }
            })
            .collect())
    }

    fn retirement(&self, registrar: &RegistrarId) -> Result<Option<RetirementRow>, StorageError> {
        let r = self.row(
            "SELECT leaf_index, timestamp, reason FROM retirements WHERE registrar = $1",
            &[&&registrar.0[..]],
        )?;
        Ok(r.map(|r| RetirementRow {
            leaf_index: u(r.get(0)),
            timestamp: u(r.get(1)),
            reason: r.get(2),
        }))
    }

    fn tally_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<CampaignTally>, StorageError> {
        let r = self.row(
            "SELECT json FROM tallies WHERE campaign = $1 AND tree_size <= $2
             ORDER BY tree_size DESC LIMIT 1",
            &[&&campaign.0[..], &i(tree_size)],
        )?;
        r.map(|r| tally(r.get(0), tree_size)).transpose()
    }

    fn tally_note_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<(u64, Option<SignedNote>)>, StorageError> {
        let r = self.row(
            "SELECT tree_size, note FROM tallies WHERE campaign = $1 AND tree_size <= $2
             ORDER BY tree_size DESC LIMIT 1",
            &[&&campaign.0[..], &i(tree_size)],
        )?;
        Ok(r.map(|r| (u(r.get(0)), r.get(1))))
    }

    fn tally_history(&self, campaign: &CampaignId) -> Result<Vec<CampaignTally>, StorageError> {
        let rows = self.rows(
            "SELECT json FROM tallies WHERE campaign = $1 ORDER BY tree_size",
            &[&&campaign.0[..]],
        )?;
        rows.iter()
            .map(|r| serde_json::from_str(r.get(0)).map_err(StorageError::from))
            .collect()
    }

    fn first_tally_size(&self, campaign: &CampaignId) -> Result<Option<u64>, StorageError> {
        let r = self.row(
            "SELECT tree_size FROM tallies WHERE campaign = $1 ORDER BY tree_size LIMIT 1",
            &[&&campaign.0[..]],
        )?;
        Ok(r.map(|r| u(r.get(0))))
    }

    fn tally_points(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
        points: u64,
    ) -> Result<Vec<TallyPoint>, StorageError> {
        let Some(first) = self.first_tally_size(campaign)? else {
            return Ok(Vec::new());
        };
        if first > tree_size {
            return Ok(Vec::new());
        }
        // One round trip: each sample is an index look-up of the counts columns.
        let points = points.max(1);
        let span = tree_size - first;
        let mut sizes: Vec<i64> = (0..=points)
            .map(|k| i(first + (span as u128 * k as u128 / points as u128) as u64))
            .collect();
        sizes.dedup();
        let rows = self.rows(
            "SELECT s.at, t.credible, t.credentialed, t.vouched, t.unverified
             FROM unnest($2::BIGINT[]) AS s(at)
             CROSS JOIN LATERAL (
               SELECT credible, credentialed, vouched, unverified FROM tallies
               WHERE campaign = $1 AND tree_size <= s.at ORDER BY tree_size DESC LIMIT 1) t
             ORDER BY s.at",
            &[&&campaign.0[..], &sizes],
        )?;
        Ok(rows
            .iter()
            .map(|r| TallyPoint {
                tree_size: u(r.get(0)),
                credible: u(r.get(1)),
                credentialed: u(r.get(2)),
                vouched: u(r.get(3)),
                unverified: u(r.get(4)),
            })
            .collect())
    }

    fn declarations(
        &self,
        campaign: &CampaignId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        let rows = self.rows(
            &format!(
                "SELECT {DECL_COLUMNS} FROM declarations WHERE campaign = $1 AND leaf_index < $2
                 ORDER BY leaf_index DESC LIMIT $3"
            ),
            &[
                &&campaign.0[..],
                &before.map_or(i64::MAX, i),
                &(limit as i64),
            ],
        )?;
        Ok(rows.iter().map(decl).collect())
    }

    fn declarations_at(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        let cols = DECL_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let xcols = DECL_COLUMNS
            .split(", ")
            .map(|c| format!("x.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match show {
            Show::Counted => "WHERE x.kind <> 'withdrawal' AND x.next IS NULL",
            Show::All => "",
        };
        let rows = self.rows(
            &format!(
                "SELECT {xcols}, x.next, n.kind FROM (
                   SELECT {cols}, (
                     SELECT m.leaf_index FROM declarations m
                     WHERE m.campaign = d.campaign AND m.leaf_index > d.leaf_index
                       AND m.leaf_index < $3
                       AND ((d.pseudonym IS NOT NULL AND m.pseudonym = d.pseudonym)
                         OR (d.reference IS NOT NULL AND m.reference = d.reference
                             AND m.registrar = d.registrar))
                     ORDER BY m.leaf_index LIMIT 1) AS next
                   FROM declarations d
                   WHERE d.campaign = $1 AND d.leaf_index < LEAST($2, $3)) x
                 LEFT JOIN declarations n ON n.leaf_index = x.next
                 {filter}
                 ORDER BY x.leaf_index DESC LIMIT $4"
            ),
            &[
                &&campaign.0[..],
                &before.map_or(i64::MAX, i),
                &i(size),
                &(limit as i64),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let mut d = decl(r);
                let next: Option<i64> = r.get(9);
                let kind: Option<String> = r.get(10);
                d.next = next.zip(kind).map(|(i, k)| (u(i), k));
                d
            })
            .collect())
    }

    fn withdrawals(
        &self,
        campaign: &CampaignId,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        let rows = self.rows(
            &format!(
                "SELECT {DECL_COLUMNS} FROM declarations WHERE campaign = $1
                 AND kind = 'withdrawal' ORDER BY leaf_index DESC LIMIT $2"
            ),
            &[&&campaign.0[..], &(limit as i64)],
        )?;
        Ok(rows.iter().map(decl).collect())
    }

    fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclarationRow>, StorageError> {
        let rows = self.rows(
            &format!(
                "SELECT {DECL_COLUMNS} FROM declarations WHERE pseudonym = $1
                 ORDER BY leaf_index LIMIT 100"
            ),
            &[&pseudonym],
        )?;
        Ok(rows.iter().map(decl).collect())
    }

    fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>, StorageError> {
        let rows = self.rows(
            "SELECT auditor, tree_size, verdict, received, note FROM attestations
             ORDER BY tree_size DESC, auditor LIMIT $1",
            &[&(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| AttestationRow {
                auditor: r.get(0),
                tree_size: u(r.get(1)),
                verdict: r.get(2),
                received: u(r.get(3)),
                note: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(4)).into_owned(),
            })
            .collect())
    }
}
