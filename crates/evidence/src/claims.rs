//! What a packet states about its campaign ([`Claims`]), and the one function
//! that computes it from the campaign's entries: the builder runs it to write
//! the packet, the verifier runs it again on what the packet holds and
//! requires the same result.
//!
//! The campaign's entries are the campaign entry, every declaration,
//! withdrawal, vouched and unverified declaration in it, and the entries of
//! the registrars it accepts (registrar, issuance periods, retirement): all
//! that its tally depends on. Folded in log order through the core validity
//! function they give the campaign's tally exactly — when none is missing,
//! which only the whole log (full mode) can show.

use std::collections::{BTreeMap, BTreeSet};

use headcount_core::{
    CampaignId, CampaignTally, CredentialVerifier, CryptoVerified, Entry, EntryHash, Leaf,
    LogState, RegistrarId, Rejection,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Failure;

/// One language version of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub lang: String,
    pub title: String,
    pub statement: String,
}

/// The campaign entry, as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInfo {
    /// Campaign id (hex): the hash of the entry.
    pub id: String,
    /// Its leaf index.
    pub index: u64,
    /// Ed25519 key of the organiser (hex).
    pub organiser_key: String,
    pub texts: Vec<Text>,
    pub addressees: Vec<String>,
    /// Accepted registrars (hex ids).
    pub registrars: Vec<String>,
    pub opens_at: u64,
    pub closes_at: u64,
    pub unverified_difficulty: u8,
    pub min_anonymity: u32,
}

/// One issuance month a registrar logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodInfo {
    /// `YYYY-MM`.
    pub period: String,
    /// Credentials issued in that month (the most declarations it may carry).
    pub size: u32,
    pub index: u64,
}

/// An accepted registrar, as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarInfo {
    pub id: String,
    pub index: u64,
    pub name: String,
    pub policy: String,
    pub contact: String,
    /// Ed25519 key (hex) that signs its entries and vouches.
    pub signing_key: String,
    /// BBS public key (hex) that verifies its credentials.
    pub bbs_key: String,
    /// Leaf index of its retirement, if it retired.
    pub retired_at: Option<u64>,
    pub periods: Vec<PeriodInfo>,
}

/// The counts after the last campaign entry of one time bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendPoint {
    /// The timestamp of that entry (Unix seconds, to the minute).
    pub time: u64,
    /// Its index + 1: the tree size at which these counts hold.
    pub tree_size: u64,
    pub credible: u64,
    pub credentialed: u64,
    pub vouched: u64,
    pub unverified: u64,
}

/// Everything the packet states about its campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub campaign: CampaignInfo,
    pub registrars: Vec<RegistrarInfo>,
    /// The campaign's entries (declarations, withdrawals, vouched and
    /// unverified declarations) folded.
    pub entries: u64,
    /// The tally at the checkpoint's tree size.
    pub tally: CampaignTally,
    /// Bucket width of the trend, seconds.
    pub trend_bucket: u64,
    pub trend: Vec<TrendPoint>,
}

/// Whether a leaf belongs to the campaign's entries (before the campaign
/// entry is known, every registrar entry might).
pub fn relevant(entry: &Entry, campaign: &CampaignId) -> bool {
    match entry {
        Entry::Registrar(_) | Entry::IssuancePeriod(_) | Entry::RegistrarRetirement(_) => true,
        e => e.campaign() == Some(*campaign),
    }
}

/// The registrar an entry is about, for the registrar kinds.
fn registrar_of(entry: &Entry) -> Option<RegistrarId> {
    match entry {
        Entry::Registrar(r) => Some(r.id()),
        Entry::IssuancePeriod(p) => Some(p.registrar),
        Entry::RegistrarRetirement(r) => Some(r.registrar),
        _ => None,
    }
}

/// Keeps, of `leaves` (candidates in log order: registrar entries of every
/// registrar and the campaign's own), those of the campaign's accepted
/// registrars and the campaign's. `None` when the campaign entry is absent.
pub fn select<'a>(
    leaves: &'a [(u64, Leaf, Entry)],
    campaign: &CampaignId,
) -> Option<Vec<&'a (u64, Leaf, Entry)>> {
    let accepted: BTreeSet<RegistrarId> = leaves.iter().find_map(|(_, _, e)| match e {
        Entry::Campaign(c) if c.id() == *campaign => Some(c.registrars.iter().copied().collect()),
        _ => None,
    })?;
    Some(
        leaves
            .iter()
            .filter(|(_, _, e)| match registrar_of(e) {
                Some(r) => accepted.contains(&r),
                None => e.campaign() == Some(*campaign),
            })
            .collect(),
    )
}

/// Trend bucket widths tried in order: the first that gives at most 60 buckets.
const BUCKETS: [u64; 6] = [60, 3600, 86_400, 7 * 86_400, 30 * 86_400, 365 * 86_400];

/// Leaves per parallel crypto chunk, and per batch within it.
const CHUNK: usize = 4096;
const BATCH: usize = 256;

/// How the subset's cryptography is checked.
pub enum Crypto<'a> {
    /// Verify every signature and proof (compact mode).
    Verify(&'a (dyn CredentialVerifier + Sync)),
    /// Already verified by the fold of the whole log (full mode): rules only.
    AlreadyVerified,
}

/// Folds the campaign's entries (in log order, from [`select`]) and states
/// the claims at tree size `tree_size`; also the campaign's tally at each
/// size in `at` (after every entry below that size).
pub fn compute(
    selected: &[&(u64, Leaf, Entry)],
    campaign: &CampaignId,
    tree_size: u64,
    crypto: Crypto<'_>,
    at: &[u64],
) -> Result<(Claims, BTreeMap<u64, Option<CampaignTally>>), Failure> {
    let mut state = LogState::default();
    let own: Vec<(u64, u64)> = selected
        .iter()
        .filter(|(_, _, e)| e.campaign() == Some(*campaign) && !matches!(e, Entry::Campaign(_)))
        .map(|(i, l, _)| (*i, l.timestamp.0))
        .collect();
    let bucket = match (own.first(), own.last()) {
        (Some(f), Some(l)) => BUCKETS
            .into_iter()
            .find(|w| l.1 / w - f.1 / w < 60)
            .unwrap_or(BUCKETS[BUCKETS.len() - 1]),
        _ => BUCKETS[0],
    };
    // The index of the last own entry of each bucket: a trend point after it.
    let mut ends = BTreeSet::new();
    for w in own.windows(2) {
        if w[0].1 / bucket != w[1].1 / bucket {
            ends.insert(w[0].0);
        }
    }
    if let Some(l) = own.last() {
        ends.insert(l.0);
    }
    let mut snapshots: BTreeMap<u64, Option<CampaignTally>> = BTreeMap::new();
    let mut pending: Vec<u64> = at.to_vec();
    pending.sort_unstable();
    pending.dedup();
    let mut pending = pending.into_iter().peekable();
    let mut trend = Vec::new();
    let mut info: Option<CampaignInfo> = None;
    let mut registrars: BTreeMap<RegistrarId, RegistrarInfo> = BTreeMap::new();

    for chunk in selected.chunks(CHUNK) {
        let tokens: Vec<Option<CryptoVerified>> = match &crypto {
            Crypto::AlreadyVerified => vec![None; chunk.len()],
            Crypto::Verify(creds) => {
                let view = state.crypto_view(chunk.iter().filter_map(|(_, _, e)| match e {
                    Entry::Registrar(r) => Some(r),
                    _ => None,
                }));
                chunk
                    .par_chunks(BATCH)
                    .flat_map_iter(|slice| {
                        let pairs: Vec<(&Entry, EntryHash)> =
                            slice.iter().map(|(_, l, e)| (e, l.entry_hash())).collect();
                        view.verify_crypto_batch(&pairs, *creds)
                            .into_iter()
                            .map(|r| r.ok())
                            .collect::<Vec<_>>()
                    })
                    .collect()
            }
        };
        for ((index, leaf, entry), token) in chunk.iter().zip(tokens) {
            while let Some(s) = pending.next_if(|s| *s <= *index) {
                snapshots.insert(s, state.tally(campaign));
            }
            let hash = leaf.entry_hash();
            let change = match &crypto {
                Crypto::AlreadyVerified => state.check_rules(leaf.timestamp, entry, hash),
                Crypto::Verify(creds) => state.validate(leaf.timestamp, entry, hash, token, *creds),
            }
            .map_err(|r: Rejection| Failure::InvalidEntry {
                index: *index,
                code: r.code(),
                message: r.to_string(),
            })?;
            state.apply(leaf.timestamp, change);
            note_entry(*index, entry, &mut info, &mut registrars);
            if ends.contains(index)
                && let Some(t) = state.tally(campaign)
            {
                trend.push(TrendPoint {
                    time: leaf.timestamp.0,
                    tree_size: index + 1,
                    credible: t.credible,
                    credentialed: t.credentialed,
                    vouched: t.vouched,
                    unverified: t.unverified,
                });
            }
        }
    }
    for s in pending {
        snapshots.insert(s, state.tally(campaign));
    }
    let campaign_info =
        info.ok_or_else(|| Failure::Incomplete("the campaign entry is not in it".into()))?;
    let mut tally = state
        .tally(campaign)
        .ok_or_else(|| Failure::Incomplete("the campaign entry is not in it".into()))?;
    // The subset's state counts only its own leaves; the counts hold at the checkpoint.
    tally.tree_size = tree_size;
    for (s, t) in snapshots.iter_mut() {
        if let Some(t) = t {
            t.tree_size = *s;
        }
    }
    for r in &campaign_info.registrars {
        if !registrars.keys().any(|k| k.to_hex() == *r) {
            return Err(Failure::Incomplete(format!(
                "accepted registrar {r} is not in it"
            )));
        }
    }
    Ok((
        Claims {
            campaign: campaign_info,
            registrars: registrars.into_values().collect(),
            entries: own.len() as u64,
            tally,
            trend_bucket: bucket,
            trend,
        },
        snapshots,
    ))
}

/// Records what the report shows of an entry the fold accepted.
fn note_entry(
    index: u64,
    entry: &Entry,
    info: &mut Option<CampaignInfo>,
    registrars: &mut BTreeMap<RegistrarId, RegistrarInfo>,
) {
    match entry {
        Entry::Campaign(c) => {
            *info = Some(CampaignInfo {
                id: c.id().to_hex(),
                index,
                organiser_key: hex::encode(c.organiser_key),
                texts: c
                    .texts
                    .iter()
                    .map(|t| Text {
                        lang: t.lang.clone(),
                        title: t.title.clone(),
                        statement: t.statement.clone(),
                    })
                    .collect(),
                addressees: c.addressees.clone(),
                registrars: c.registrars.iter().map(|r| r.to_hex()).collect(),
                opens_at: c.opens_at,
                closes_at: c.closes_at,
                unverified_difficulty: c.unverified_difficulty,
                min_anonymity: c.min_anonymity,
            })
        }
        Entry::Registrar(r) => {
            registrars.insert(
                r.id(),
                RegistrarInfo {
                    id: r.id().to_hex(),
                    index,
                    name: r.name.clone(),
                    policy: r.policy.clone(),
                    contact: r.contact.clone(),
                    signing_key: hex::encode(r.signing_key),
                    bbs_key: hex::encode(r.bbs_key),
                    retired_at: None,
                    periods: vec![],
                },
            );
        }
        Entry::IssuancePeriod(p) => {
            if let Some(r) = registrars.get_mut(&p.registrar) {
                r.periods.push(PeriodInfo {
                    period: p.period.to_string(),
                    size: p.size,
                    index,
                });
            }
        }
        Entry::RegistrarRetirement(e) => {
            if let Some(r) = registrars.get_mut(&e.registrar) {
                r.retired_at = Some(index);
            }
        }
        _ => {}
    }
}
