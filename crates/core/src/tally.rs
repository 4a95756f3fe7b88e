//! The tally (DESIGN §5): for a campaign at a tree size, who is counted.
//!
//! The fold itself is [`LogState::push`] over the leaves in log order; this
//! module reads the counts out of the folded state. Everything is ordered
//! (registrars by id, periods by month), so two parties that fold the same
//! log produce byte-identical JSON.

use serde::{Deserialize, Serialize};

use crate::ids::{CampaignId, RegistrarId};
use crate::period::Period;
use crate::state::LogState;

/// One (registrar, issuance period) group of credentialed declarations in a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodTally {
    pub period: Period,
    /// The number of credentials the registrar logged for the period: the
    /// most declarations the group may hold.
    pub size: u32,
    /// Current credentialed declarations disclosing this period.
    pub declarations: u64,
    /// `declarations > size`: the registrar issued more credentials than it
    /// logged. The group is excluded from the credible count.
    pub over_bound: bool,
}

/// A registrar's contribution to a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrarTally {
    pub registrar: RegistrarId,
    /// The registrar has retired its keys: its periods logged before the
    /// retirement still count, nothing after.
    pub retired: bool,
    /// Distinct (registrar, reference) vouched declarations.
    pub vouched: u64,
    /// Credentialed declarations within bound.
    pub credentialed: u64,
    pub periods: Vec<PeriodTally>,
}

/// The counts of one campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignTally {
    pub campaign: CampaignId,
    /// Tree size the tally was computed at.
    pub tree_size: u64,
    /// `credentialed + vouched`: the headcount. A person holding credentials
    /// of two accepted registrars (or vouched by one and credentialed by
    /// another) is counted once by each: independent registrars cannot know.
    pub credible: u64,
    /// A lower bound on the distinct people behind `credible`: the largest
    /// number one registrar accounts for on its own (its credentialed
    /// declarations within bound, or its vouches, whichever is larger: the
    /// same person may hold one of each). The truth lies between this and
    /// `credible`.
    pub distinct_lower_bound: u64,
    /// Distinct pseudonyms currently declared, in groups within their bound.
    pub credentialed: u64,
    /// Declarations in over-bound groups (evidence against a registrar).
    pub credentialed_over_bound: u64,
    /// Distinct (registrar, reference) pairs.
    pub vouched: u64,
    /// Unverified declarations: shown apart, never part of the headcount.
    pub unverified: u64,
    /// Accepted withdrawal entries.
    pub withdrawals: u64,
    pub by_registrar: Vec<RegistrarTally>,
}

impl CampaignTally {
    /// Groups that break the registrar bound.
    pub fn over_bound(&self) -> impl Iterator<Item = (&RegistrarId, &PeriodTally)> {
        self.by_registrar.iter().flat_map(|r| {
            r.periods
                .iter()
                .filter(|b| b.over_bound)
                .map(move |b| (&r.registrar, b))
        })
    }
}

impl LogState {
    /// The tally of one campaign at the current size.
    pub fn tally(&self, campaign: &CampaignId) -> Option<CampaignTally> {
        let c = self.campaign(campaign)?;
        let counts = &c.counts;
        let mut by_registrar: Vec<RegistrarTally> = Vec::new();
        let mut credentialed = 0;
        let mut over = 0;
        let mut lower_bound = 0;
        let mut registrars: Vec<RegistrarId> = counts
            .groups
            .keys()
            .map(|(r, _)| *r)
            .chain(counts.vouched_by_registrar.keys().copied())
            .collect();
        registrars.sort();
        registrars.dedup();
        for r in registrars {
            let mut rt = RegistrarTally {
                registrar: r,
                retired: self.registrar(&r).is_some_and(|i| i.retired),
                vouched: counts.vouched_by_registrar.get(&r).copied().unwrap_or(0),
                credentialed: 0,
                periods: Vec::new(),
            };
            let range = (r, Period(0))..=(r, Period(u32::MAX));
            for (&(_, period), &n) in counts.groups.range(range) {
                // Invariant: declarations are only accepted for logged periods.
                let size = self.period_size(&r, period).unwrap_or(0);
                let over_bound = n > u64::from(size);
                if over_bound {
                    over += n;
                } else {
                    rt.credentialed += n;
                }
                rt.periods.push(PeriodTally {
                    period,
                    size,
                    declarations: n,
                    over_bound,
                });
            }
            credentialed += rt.credentialed;
            lower_bound = lower_bound.max(rt.credentialed.max(rt.vouched));
            by_registrar.push(rt);
        }
        let vouched = counts.vouched.len() as u64;
        Some(CampaignTally {
            campaign: *campaign,
            tree_size: self.size,
            credible: credentialed + vouched,
            distinct_lower_bound: lower_bound,
            credentialed,
            credentialed_over_bound: over,
            vouched,
            unverified: counts.unverified,
            withdrawals: counts.withdrawals,
            by_registrar,
        })
    }

    /// Tallies of every campaign, ordered by campaign id.
    pub fn tallies(&self) -> Vec<CampaignTally> {
        let mut ids: Vec<&CampaignId> = self.campaign_ids().collect();
        ids.sort();
        ids.into_iter().filter_map(|id| self.tally(id)).collect()
    }
}
