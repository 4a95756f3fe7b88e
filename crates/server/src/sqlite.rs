//! The SQLite backend of the storage traits: [`Derived`] is the derived
//! state's writer, [`ReadPool`] its read model (the API's and the
//! dashboard's queries, each on a read-only connection of its own).

use headcount_core::{CampaignId, CampaignTally, EntryHash, RegistrarId};
use headcount_storage::rows::*;
use headcount_storage::{AppliedLeaf, DerivedWriter, ReadModel, SignedTally, StorageError};
use rusqlite::{OptionalExtension, params};

use crate::derived::{DECL_COLUMNS, Derived, DerivedError, ReadPool, clamp, decl_row};

/// The dashboard's queries (moved here from `headcount-dashboard`, which now
/// reads only through [`ReadModel`]).
impl Derived {
    /// See [`ReadModel::declarations_at`].
    pub fn declarations_at(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclarationRow>, DerivedError> {
        let cols = DECL_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match show {
            Show::Counted => "WHERE x.kind != 'withdrawal' AND x.next IS NULL",
            Show::All => "",
        };
        let mut st = self.conn().prepare_cached(&format!(
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

    /// Withdrawals of a campaign, newest first (a partial index).
    pub fn withdrawals(
        &self,
        campaign: &CampaignId,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, DerivedError> {
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT {DECL_COLUMNS} FROM declarations
             WHERE campaign = ?1 AND kind = 'withdrawal' ORDER BY leaf_index DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![&campaign.0[..], limit], decl_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The entries with this pseudonym (its declarations and withdrawals).
    pub fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclarationRow>, DerivedError> {
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT {DECL_COLUMNS} FROM declarations WHERE pseudonym = ?1 ORDER BY leaf_index LIMIT 100"
        ))?;
        let rows = st.query_map(params![pseudonym], decl_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The tree size of the campaign's first stored tally.
    pub fn first_tally_size(&self, campaign: &CampaignId) -> Result<Option<u64>, DerivedError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT tree_size FROM tallies WHERE campaign = ?1 ORDER BY tree_size LIMIT 1",
            )?
            .query_row(params![&campaign.0[..]], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|s| s as u64))
    }

    /// See [`ReadModel::tally_points`]: each sample an indexed look-up that
    /// reads only the four counts (`json_extract`), so the cost does not grow
    /// with the tally's size.
    pub fn tally_points(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
        points: u64,
    ) -> Result<Vec<TallyPoint>, DerivedError> {
        let Some(first) = self.first_tally_size(campaign)? else {
            return Ok(Vec::new());
        };
        if first > tree_size {
            return Ok(Vec::new());
        }
        let mut st = self.conn().prepare_cached(
            "SELECT tree_size, json_extract(json, '$.credible'), json_extract(json, '$.credentialed'),
                    json_extract(json, '$.vouched'), json_extract(json, '$.unverified')
             FROM tallies WHERE campaign = ?1 AND tree_size <= ?2 ORDER BY tree_size DESC LIMIT 1",
        )?;
        let points = points.max(1);
        let span = tree_size - first;
        let mut out: Vec<TallyPoint> = Vec::with_capacity(points as usize + 1);
        for i in 0..=points {
            let at = first + (span as u128 * i as u128 / points as u128) as u64;
            if out.last().is_some_and(|l| l.tree_size == at) {
                continue;
            }
            let p = st
                .query_row(params![&campaign.0[..], clamp(at)], |r| {
                    Ok(TallyPoint {
                        tree_size: at,
                        credible: r.get::<_, i64>(1)? as u64,
                        credentialed: r.get::<_, i64>(2)? as u64,
                        vouched: r.get::<_, i64>(3)? as u64,
                        unverified: r.get::<_, i64>(4)? as u64,
                    })
                })
                .optional()?;
            out.extend(p);
        }
        Ok(out)
    }
}

impl DerivedWriter for Derived {
    fn applied_size(&self) -> Result<u64, StorageError> {
        Ok(Derived::applied_size(self)?)
    }

    fn reset(&mut self) -> Result<(), StorageError> {
        Ok(Derived::reset(self)?)
    }

    fn apply(
        &mut self,
        leaves: &[AppliedLeaf<'_>],
        tree_size: u64,
        checkpoint: Option<&[u8]>,
        tallies: &[SignedTally],
    ) -> Result<(), StorageError> {
        Ok(Derived::apply(
            self, leaves, tree_size, checkpoint, tallies,
        )?)
    }

    fn set_cosigned(
        &mut self,
        size: u64,
        note: &[u8],
        entries: &[EntryHash],
    ) -> Result<(), StorageError> {
        Ok(Derived::set_cosigned(self, size, note, entries)?)
    }

    fn add_attestation(
        &mut self,
        auditor: &str,
        tree_size: u64,
        verdict: &str,
        received: u64,
        note: &[u8],
    ) -> Result<(), StorageError> {
        Ok(Derived::add_attestation(
            self, auditor, tree_size, verdict, received, note,
        )?)
    }
}

fn entity((leaf_index, timestamp, entry): (u64, u64, Vec<u8>)) -> EntityRow {
    EntityRow {
        leaf_index,
        timestamp,
        entry,
    }
}

impl ReadModel for ReadPool {
    fn lookup_entry(&self, hash: &EntryHash) -> Result<Option<Located>, StorageError> {
        Ok(self.with(|d| d.lookup_entry(hash))?)
    }

    fn checkpoint(&self, size: u64) -> Result<Option<SignedNote>, StorageError> {
        Ok(self.with(|d| d.checkpoint(size))?)
    }

    fn campaign(&self, id: &CampaignId) -> Result<Option<EntityRow>, StorageError> {
        Ok(self.with(|d| d.campaign(id))?.map(entity))
    }

    fn campaigns_page(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EntityRow>, StorageError> {
        let rows = self.with(|d| d.campaigns_page(after, limit))?;
        Ok(rows.into_iter().map(entity).collect())
    }

    fn campaigns(&self) -> Result<Vec<EntityRow>, StorageError> {
        Ok(self
            .with(|d| d.campaigns())?
            .into_iter()
            .map(entity)
            .collect())
    }

    fn registrar(&self, id: &RegistrarId) -> Result<Option<EntityRow>, StorageError> {
        Ok(self.with(|d| d.registrar(id))?.map(entity))
    }

    fn registrars(&self) -> Result<Vec<EntityRow>, StorageError> {
        Ok(self
            .with(|d| d.registrars())?
            .into_iter()
            .map(entity)
            .collect())
    }

    fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>, StorageError> {
        Ok(self.with(|d| d.periods(registrar))?)
    }

    fn retirement(&self, registrar: &RegistrarId) -> Result<Option<RetirementRow>, StorageError> {
        Ok(self.with(|d| d.retirement(registrar))?)
    }

    fn tally_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<CampaignTally>, StorageError> {
        Ok(self.with(|d| d.tally_at(campaign, tree_size))?)
    }

    fn tally_note_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<(u64, Option<SignedNote>)>, StorageError> {
        Ok(self.with(|d| d.tally_note_at(campaign, tree_size))?)
    }

    fn tally_history(&self, campaign: &CampaignId) -> Result<Vec<CampaignTally>, StorageError> {
        Ok(self.with(|d| d.tally_history(campaign))?)
    }

    fn first_tally_size(&self, campaign: &CampaignId) -> Result<Option<u64>, StorageError> {
        Ok(self.with(|d| d.first_tally_size(campaign))?)
    }

    fn tally_points(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
        points: u64,
    ) -> Result<Vec<TallyPoint>, StorageError> {
        Ok(self.with(|d| d.tally_points(campaign, tree_size, points))?)
    }

    fn declarations(
        &self,
        campaign: &CampaignId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        Ok(self.with(|d| d.declarations(campaign, before, limit))?)
    }

    fn declarations_at(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        Ok(self.with(|d| d.declarations_at(campaign, size, before, limit, show))?)
    }

    fn withdrawals(
        &self,
        campaign: &CampaignId,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError> {
        Ok(self.with(|d| d.withdrawals(campaign, limit))?)
    }

    fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclarationRow>, StorageError> {
        Ok(self.with(|d| d.by_pseudonym(pseudonym))?)
    }

    fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>, StorageError> {
        Ok(self.with(|d| d.attestations(limit))?)
    }
}
