//! The dashboard's reads: a thin typed layer over the log's read model
//! (`headcount_storage::ReadModel`), the same queries the HTTP API makes, on
//! whichever backend the log runs. Here entries are decoded for the pages;
//! there is no SQL in this crate (the test fixture aside).

use std::path::Path;
use std::sync::Arc;

use headcount_core::entry::{Campaign, Entry, Registrar};
use headcount_core::{CampaignId, CampaignTally, RegistrarId};
use headcount_storage::{EntityRow, ReadModel, StorageError};

pub use headcount_storage::{
    DeclarationRow as DeclRow, PeriodRow, Show, Standing, TallyPoint as Point,
};

/// A dashboard error: the page shows a plain 500 and nothing of the cause.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<StorageError> for DbError {
    fn from(e: StorageError) -> Self {
        DbError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, DbError>;

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

fn campaign_row(r: EntityRow) -> Option<CampaignRow> {
    match Entry::decode(&r.entry) {
        Ok(Entry::Campaign(campaign)) => Some(CampaignRow {
            leaf_index: r.leaf_index,
            timestamp: r.timestamp,
            campaign,
        }),
        _ => None,
    }
}

fn registrar_row(r: EntityRow) -> Option<RegistrarRow> {
    match Entry::decode(&r.entry) {
        Ok(Entry::Registrar(registrar)) => Some(RegistrarRow {
            leaf_index: r.leaf_index,
            timestamp: r.timestamp,
            registrar,
        }),
        _ => None,
    }
}

/// The pages' view of the read model.
#[derive(Clone)]
pub struct Db {
    reads: Arc<dyn ReadModel>,
}

/// A stored attestation: (auditor, tree size, verdict, received, signed note).
pub type AttestationRow = (String, u64, String, u64, Vec<u8>);

impl Db {
    /// The pages' view of a log's read model.
    pub fn new(reads: Arc<dyn ReadModel>) -> Db {
        Db { reads }
    }

    /// The read model of the SQLite derived state at `path` (benches and tests).
    pub fn open(path: &Path) -> Result<Db> {
        if !path.is_file() {
            return Err(DbError(format!("no database at {}", path.display())));
        }
        Ok(Db::new(Arc::new(headcount_server::derived::ReadPool::new(
            path,
        ))))
    }

    /// Every campaign, oldest first. Campaigns are few (each is an organiser's
    /// signed entry), so they are listed whole.
    pub fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        Ok(self
            .reads
            .campaigns()?
            .into_iter()
            .filter_map(campaign_row)
            .collect())
    }

    /// One campaign by id.
    pub fn campaign(&self, id: &CampaignId) -> Result<Option<CampaignRow>> {
        Ok(self.reads.campaign(id)?.and_then(campaign_row))
    }

    /// One registrar by id.
    pub fn registrar(&self, id: &RegistrarId) -> Result<Option<RegistrarRow>> {
        Ok(self.reads.registrar(id)?.and_then(registrar_row))
    }

    /// A registrar's display name (for tables), if it is in the log.
    pub fn registrar_name(&self, id: &RegistrarId) -> Result<Option<String>> {
        Ok(self.registrar(id)?.map(|r| r.registrar.name))
    }

    /// Every registrar, oldest first (few: each is a signed entry).
    pub fn registrars(&self) -> Result<Vec<RegistrarRow>> {
        Ok(self
            .reads
            .registrars()?
            .into_iter()
            .filter_map(registrar_row)
            .collect())
    }

    /// The issuance periods a registrar logged.
    pub fn periods(&self, registrar: &RegistrarId) -> Result<Vec<PeriodRow>> {
        Ok(self.reads.periods(registrar)?)
    }

    /// The registrar's retirement: (leaf, timestamp, reason), if it retired its keys.
    pub fn retirement(&self, registrar: &RegistrarId) -> Result<Option<(u64, u64, String)>> {
        Ok(self
            .reads
            .retirement(registrar)?
            .map(|r| (r.leaf_index, r.timestamp, r.reason)))
    }

    /// The campaign's tally as of `tree_size`, exactly as the JSON API computes it.
    pub fn tally_at(&self, campaign: &CampaignId, tree_size: u64) -> Result<Option<CampaignTally>> {
        Ok(self.reads.tally_at(campaign, tree_size)?)
    }

    /// Up to `points + 1` evenly spaced samples of the campaign's tally
    /// history up to `tree_size`.
    pub fn history(
        &self,
        campaign: &CampaignId,
        tree_size: u64,
        points: u64,
    ) -> Result<Vec<Point>> {
        Ok(self.reads.tally_points(campaign, tree_size, points)?)
    }

    /// Declarations of a campaign in the tree of `size` leaves, newest first,
    /// below `before`, each with the person's next entry.
    pub fn declarations(
        &self,
        campaign: &CampaignId,
        size: u64,
        before: Option<u64>,
        limit: u32,
        show: Show,
    ) -> Result<Vec<DeclRow>> {
        Ok(self
            .reads
            .declarations_at(campaign, size, before, limit, show)?)
    }

    /// Withdrawals of a campaign, newest first.
    pub fn withdrawals(&self, campaign: &CampaignId, limit: u32) -> Result<Vec<DeclRow>> {
        Ok(self.reads.withdrawals(campaign, limit)?)
    }

    /// The entries with this pseudonym (its declarations and withdrawals).
    pub fn by_pseudonym(&self, pseudonym: &[u8]) -> Result<Vec<DeclRow>> {
        Ok(self.reads.by_pseudonym(pseudonym)?)
    }

    /// The leaf index of an entry by its hash.
    pub fn by_entry_hash(&self, hash: &[u8; 32]) -> Result<Option<u64>> {
        Ok(self
            .reads
            .lookup_entry(&headcount_core::EntryHash(*hash))?
            .map(|l| l.index))
    }

    /// The checkpoint note the server stored at exactly `size`.
    pub fn checkpoint_note(&self, size: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.reads.checkpoint(size)?)
    }

    /// Auditors' attestations, newest tree first.
    pub fn attestations(&self, limit: u32) -> Result<Vec<AttestationRow>> {
        Ok(self
            .reads
            .attestations(limit)?
            .into_iter()
            .map(|a| {
                (
                    a.auditor,
                    a.tree_size,
                    a.verdict,
                    a.received,
                    a.note.into_bytes(),
                )
            })
            .collect())
    }
}
