//! The read model's row types: what the HTTP API and the dashboard both read.

use headcount_core::{CampaignId, Period, RegistrarId};

/// A signed note's bytes.
pub type SignedNote = Vec<u8>;

/// Where an entry sits in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    pub index: u64,
    /// The leaf's sequencer timestamp.
    pub timestamp: u64,
    /// The tree size of the checkpoint its receipt is made against (the first
    /// checkpoint that included it, unless the derived state was rebuilt since).
    pub receipt_size: u64,
}

/// A registrar or campaign entry with where it sits in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRow {
    pub leaf_index: u64,
    pub timestamp: u64,
    /// The entry's canonical bytes.
    pub entry: Vec<u8>,
}

/// A logged issuance period (calendar month).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PeriodRow {
    /// Months since January 1970.
    pub period: Period,
    /// `YYYY-MM`.
    pub month: String,
    pub size: u32,
    pub leaf_index: u64,
    /// The `issuance-period` entry's hash, hex: `GET /v1/entries/{entry_hash}`
    /// gives it with its proof.
    pub entry_hash: String,
}

/// A registrar's retirement.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RetirementRow {
    pub leaf_index: u64,
    pub timestamp: u64,
    pub reason: String,
}

/// An auditor's attestation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AttestationRow {
    pub auditor: String,
    pub tree_size: u64,
    pub verdict: String,
    /// When the server received it (Unix seconds, to the minute).
    pub received: u64,
    /// The signed note.
    pub note: String,
}

/// A declaration, withdrawal, vouched or unverified declaration of a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclarationRow {
    pub leaf_index: u64,
    pub campaign: CampaignId,
    /// The entry type's name (`declaration`, `withdrawal`, ...).
    pub kind: String,
    pub timestamp: u64,
    pub registrar: Option<RegistrarId>,
    /// The issuance month a credentialed entry discloses.
    pub period: Option<Period>,
    pub pseudonym: Option<Vec<u8>>,
    pub alias: Option<String>,
    pub message: Option<String>,
    /// The next entry of the same person in the campaign (same pseudonym, or
    /// same registrar and vouch reference) within the tree asked about: its
    /// leaf index and kind. Filled only by [`crate::ReadModel::declarations_at`].
    pub next: Option<(u64, String)>,
}

/// Where a row of a campaign's list stands in the count at the tree size asked about.
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

impl DeclarationRow {
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

/// Which rows of a campaign's list to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Show {
    /// Only the rows that count at the tree size asked about.
    #[default]
    Counted,
    /// Every entry, each with its next entry (replaced, withdrawn).
    All,
}

/// One point of a campaign's history: the tally's counts at a tree size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TallyPoint {
    pub tree_size: u64,
    pub credible: u64,
    pub credentialed: u64,
    pub vouched: u64,
    pub unverified: u64,
}
