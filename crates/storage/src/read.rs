//! The read model: every query the HTTP API and the dashboard make.
//!
//! Each query is an indexed look-up or a bounded range scan in every backend:
//! no request scans the log or a whole table.

use headcount_core::{CampaignId, CampaignTally, EntryHash, RegistrarId};

use crate::StorageError;
use crate::rows::*;

/// Reads of the derived state.
pub trait ReadModel: Send + Sync {
    /// Where an entry is, by hash.
    fn lookup_entry(&self, hash: &EntryHash) -> Result<Option<Located>, StorageError>;

    /// The checkpoint the server signed at exactly `size` (cosigned, if it was).
    fn checkpoint(&self, size: u64) -> Result<Option<SignedNote>, StorageError>;

    /// One campaign entry by id.
    fn campaign(&self, id: &CampaignId) -> Result<Option<EntityRow>, StorageError>;

    /// Campaign entries in log order after leaf `after`, at most `limit`.
    fn campaigns_page(
        &self,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EntityRow>, StorageError>;

    /// Every campaign entry, oldest first (campaigns are few: each is signed).
    fn campaigns(&self) -> Result<Vec<EntityRow>, StorageError>;

    /// One registrar entry by id.
    fn registrar(&self, id: &RegistrarId) -> Result<Option<EntityRow>, StorageError>;

    /// Every registrar entry, oldest first.
    fn registrars(&self) -> Result<Vec<EntityRow>, StorageError>;

    /// The issuance periods a registrar logged, oldest month first.
    fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>, StorageError>;

    /// The registrar's retirement, if it retired its keys.
    fn retirement(&self, registrar: &RegistrarId) -> Result<Option<RetirementRow>, StorageError>;

    /// The campaign's tally as of `tree_size`: the latest stored tally at or
    /// below it, restated at `tree_size` (nothing changed in between).
    fn tally_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<CampaignTally>, StorageError>;

    /// The campaign's signed tally note that holds at `tree_size`: the one
    /// stored with its latest tally at or below it, with that tally's size.
    /// `Some((size, None))` when that tally has no note.
    fn tally_note_at(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
    ) -> Result<Option<(u64, Option<SignedNote>)>, StorageError>;

    /// Every stored tally of a campaign, oldest first.
    fn tally_history(&self, campaign: &CampaignId) -> Result<Vec<CampaignTally>, StorageError>;

    /// The tree size of the campaign's first stored tally.
    fn first_tally_size(&self, campaign: &CampaignId) -> Result<Option<u64>, StorageError>;

    /// Up to `points + 1` evenly spaced samples of the campaign's tally
    /// history up to `tree_size` (each the latest tally at or below it).
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
        let points = points.max(1);
        let span = tree_size - first;
        let mut out: Vec<TallyPoint> = Vec::with_capacity(points as usize + 1);
        for i in 0..=points {
            let at = first + (span as u128 * i as u128 / points as u128) as u64;
            if out.last().is_some_and(|l| l.tree_size == at) {
                continue;
            }
            if let Some(t) = self.tally_at(campaign, at)? {
                out.push(TallyPoint {
                    tree_size: at,
                    credible: t.credible,
                    credentialed: t.credentialed,
                    vouched: t.vouched,
                    unverified: t.unverified,
                });
            }
        }
        Ok(out)
    }

    /// A campaign's declarations, withdrawals, vouched and unverified
    /// declarations below leaf `before`, newest first (without `next`).
    fn declarations(
        &self,
        campaign: &CampaignId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError>;

    /// A campaign's entries in the tree of `size` leaves, newest first, below
    /// `before`, each with the person's next entry in that tree (which makes
    /// it replaced or withdrawn). [`Show::Counted`] keeps only the rows that
    /// count at `size`, so that they agree with the tally's figures.
    fn declarations_at(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclarationRow>, StorageError>;

    /// A campaign's withdrawals, newest first.
    fn withdrawals(
        &self,
        campaign: &CampaignId,
        limit: u32,
    ) -> Result<Vec<DeclarationRow>, StorageError>;

    /// The entries with this pseudonym (at most 100, oldest first).
    fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclarationRow>, StorageError>;

    /// Auditors' attestations, newest tree first, at most `limit`.
    fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>, StorageError>;
}
