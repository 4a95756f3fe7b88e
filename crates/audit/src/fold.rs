//! The fold: every leaf in log order through the core validity function, with
//! the cryptography in parallel, stopping at each tree size where the server
//! published a tally to compare it.
//!
//! Leaves are taken in chunks of [`CHUNK_BUNDLES`] bundles. Within a chunk,
//! decoding and [`LogState::verify_crypto_batch`] (slices of [`VERIFY_BATCH`]
//! leaves, each slice's pseudonym proofs batch-verified) run in parallel
//! (rayon) against the state at the start of the chunk. That is sound because crypto results are
//! monotone (see `headcount_core::state`): keys are bound to ids by hashing
//! and never change, so a signature that verifies against an earlier state
//! verifies against every later one. An entry whose key was not known yet at
//! the start of the chunk (its registrar is in the same chunk) gets no token,
//! and [`LogState::validate`] then redoes its cryptography sequentially
//! against the exact state before it. The rules themselves always run
//! sequentially, in log order, so the first invalid leaf found is the first
//! invalid leaf of the log, with the same code the server would give.

use std::collections::BTreeMap;

use headcount_core::{
    CampaignId, CampaignTally, CredentialVerifier, CryptoVerified, Entry, EntryHash, Leaf,
    LogState, Rejection,
};
use headcount_tlog::{TILE_WIDTH, TileId, decode_bundle};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::Finding;
use crate::fetch::{FetchedTiles, bundle_count};

/// Bundles per parallel chunk (16 × 256 = 4096 leaves).
const CHUNK_BUNDLES: u64 = 16;
/// Leaves per verification batch within a chunk (16 batches per chunk, spread
/// over the cores).
const VERIFY_BATCH: usize = 256;

/// Published tallies to compare, by the tree size they were published at.
pub(crate) type Stops = BTreeMap<u64, Vec<CampaignTally>>;

pub(crate) struct FoldOutcome {
    pub state: LogState,
    pub finding: Option<Finding>,
    /// Published tallies compared (and found equal, unless `finding` says otherwise).
    pub compared: u64,
    /// For each campaign with an entry among the leaves folded in this run,
    /// the index of its last one: its tally cannot change before that.
    pub last_entry: BTreeMap<CampaignId, u64>,
}

type Decoded = Result<(Leaf, Entry, EntryHash), Rejection>;
type Prepared = Result<(Leaf, Entry, EntryHash, Option<CryptoVerified>), Rejection>;

fn decode(raw: &[u8]) -> Decoded {
    let leaf = Leaf::decode(raw)?;
    let entry = leaf.decode_entry()?;
    let hash = leaf.entry_hash();
    Ok((leaf, entry, hash))
}

/// Decodes a chunk and checks its cryptography in parallel, against the keys
/// of `keys` (the state at the start of the chunk, or an earlier one: crypto
/// results are monotone) plus the chunk's own registrar entries
/// ([`LogState::crypto_view`]). Any failure here is settled by `validate`,
/// which redoes the check against the exact state before the leaf (and gives
/// the same code).
fn prepare_chunk(
    keys: &LogState,
    raw: &[&[u8]],
    credentials: &(dyn CredentialVerifier + Sync),
) -> Vec<Prepared> {
    let decoded: Vec<Decoded> = raw.par_iter().map(|r| decode(r)).collect();
    let view = keys.crypto_view(decoded.iter().filter_map(|d| match d {
        Ok((_, Entry::Registrar(r), _)) => Some(r),
        _ => None,
    }));
    // Each slice of VERIFY_BATCH leaves is one batch (its pseudonym proofs'
    // pairing checks folded into one multi-pairing); the slices run in parallel.
    let tokens: Vec<Option<CryptoVerified>> = decoded
        .par_chunks(VERIFY_BATCH)
        .flat_map_iter(|slice| {
            let ok: Vec<(usize, (&Entry, EntryHash))> = slice
                .iter()
                .enumerate()
                .filter_map(|(i, d)| d.as_ref().ok().map(|(_, e, h)| (i, (e, *h))))
                .collect();
            let pairs: Vec<(&Entry, EntryHash)> = ok.iter().map(|(_, p)| *p).collect();
            let mut out = vec![None; slice.len()];
            for ((i, _), r) in ok.iter().zip(view.verify_crypto_batch(&pairs, credentials)) {
                out[*i] = r.ok();
            }
            out
        })
        .collect();
    decoded
        .into_iter()
        .zip(tokens)
        .map(|(d, token)| d.map(|(leaf, entry, hash)| (leaf, entry, hash, token)))
        .collect()
}

/// A chunk's leaves as bundled in the tiles, from `first_bundle` (skipping
/// the `skip` leaves of it already folded): its first leaf index and the
/// leaves. A missing or malformed bundle is the log's fault.
struct Chunk<'t> {
    start_index: u64,
    raw: Vec<&'t [u8]>,
}

fn gather<'t>(
    tiles: &'t FetchedTiles,
    first_bundle: u64,
    last: u64,
    skip: usize,
) -> Result<Chunk<'t>, Box<Finding>> {
    let mut raw: Vec<&[u8]> = Vec::with_capacity(((last - first_bundle) * TILE_WIDTH) as usize);
    for n in first_bundle..last {
        match tiles.bundle(n).map(decode_bundle) {
            Some(Ok(e)) => raw.extend(e),
            _ => {
                return Err(Box::new(Finding::TreeMismatch {
                    tile: Some(
                        TileId {
                            level: None,
                            index: n,
                            width: 0,
                        }
                        .path(),
                    ),
                    reason: "entry bundle missing or malformed".into(),
                }));
            }
        }
    }
    Ok(Chunk {
        start_index: first_bundle * TILE_WIDTH + skip as u64,
        raw: raw.into_iter().skip(skip).collect(),
    })
}

/// What the sequential half of the fold carries from leaf to leaf.
struct Folding<'s> {
    state: LogState,
    stops: std::iter::Peekable<std::collections::btree_map::Range<'s, u64, Vec<CampaignTally>>>,
    compared: u64,
    last_entry: BTreeMap<CampaignId, u64>,
}

impl Folding<'_> {
    /// Every leaf of a prepared chunk through the rules, in log order,
    /// comparing published tallies on the way: the first finding.
    fn apply(
        &mut self,
        start_index: u64,
        prepared: Vec<Prepared>,
        credentials: &(dyn CredentialVerifier + Sync),
    ) -> Option<Finding> {
        for (i, p) in prepared.into_iter().enumerate() {
            let index = start_index + i as u64;
            let state = &mut self.state;
            let result = p.and_then(|(leaf, entry, hash, token)| {
                state
                    .validate(leaf.timestamp, &entry, hash, token, credentials)
                    .map(|change| (leaf.timestamp, change, entry))
            });
            match result {
                Ok((ts, change, entry)) => {
                    state.apply(ts, change);
                    for c in state.campaigns_affected(&entry) {
                        self.last_entry.insert(c, index);
                    }
                }
                Err(r) => {
                    return Some(Finding::InvalidEntry {
                        index,
                        code: r.code(),
                        message: r.to_string(),
                    });
                }
            }
            let size = self.state.size;
            while let Some((&s, theirs)) = self.stops.next_if(|(s, _)| **s == size) {
                if let Some(f) = compare(&self.state, s, theirs, &mut self.compared) {
                    return Some(f);
                }
            }
        }
        None
    }
}

/// Compares the published tallies at `size` with ours; the first difference.
fn compare(
    state: &LogState,
    size: u64,
    theirs: &[CampaignTally],
    compared: &mut u64,
) -> Option<Finding> {
    for t in theirs {
        *compared += 1;
        let ours = state.tally(&t.campaign);
        if ours.as_ref() != Some(t) {
            return Some(Finding::TallyDiffers {
                campaign: t.campaign,
                tree_size: size,
                ours,
                theirs: Some(t.clone()),
            });
        }
    }
    None
}

/// Folds leaves `start.size..size` of `tiles` (already verified against the
/// checkpoint) into `start` (a fresh [`LogState`], or the state folded up to
/// an earlier verified checkpoint of the same tree: monitor mode), comparing
/// the published tallies in `stops` after `start.size` on the way.
pub(crate) fn fold(
    start: LogState,
    tiles: &FetchedTiles,
    size: u64,
    stops: &Stops,
    credentials: &(dyn CredentialVerifier + Sync),
    progress: bool,
) -> FoldOutcome {
    let bar = if progress {
        let b = ProgressBar::new(size.saturating_sub(start.size));
        b.set_style(
            ProgressStyle::with_template("verify {bar:40} {pos}/{len} entries {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let from = start.size;
    let stops = if from == 0 {
        stops.range(..=size).peekable()
    } else {
        // Tallies at `from` and before were compared when `from` was verified.
        stops.range(from + 1..=size.max(from + 1)).peekable()
    };
    let mut f = Folding {
        state: start,
        stops,
        compared: 0,
        last_entry: BTreeMap::new(),
    };
    let done = |f: Folding<'_>, finding: Option<Finding>| {
        bar.finish_and_clear();
        FoldOutcome {
            state: f.state,
            finding,
            compared: f.compared,
            last_entry: f.last_entry,
        }
    };
    // Tallies published at size 0 (there can be none: no campaign exists yet).
    while let Some((&s, theirs)) = f.stops.next_if(|(s, _)| **s == 0) {
        if let Some(finding) = compare(&f.state, s, theirs, &mut f.compared) {
            return done(f, Some(finding));
        }
    }
    let bundles = bundle_count(size);
    if from >= size || from / TILE_WIDTH >= bundles {
        return done(f, None);
    }
    // Chunk boundaries: the first starts part-way into its bundle when leaves
    // of it were folded before.
    let firsts: Vec<u64> = (from / TILE_WIDTH..bundles)
        .step_by(CHUNK_BUNDLES as usize)
        .collect();
    let chunk = |k: usize| -> Result<Chunk<'_>, Box<Finding>> {
        let first = firsts[k];
        let skip = if k == 0 {
            (from % TILE_WIDTH) as usize
        } else {
            0
        };
        gather(tiles, first, (first + CHUNK_BUNDLES).min(bundles), skip)
    };
    // A pipeline: while the rules fold chunk k in log order (one core), the
    // next chunk is decoded and its cryptography checked (the other cores)
    // against the keys known before chunk k plus the registrars of chunks k
    // and k + 1. Sound for the reason given at the top of this file.
    let mut current = match chunk(0) {
        Ok(c) => {
            let prepared = prepare_chunk(&f.state, &c.raw, credentials);
            (c.start_index, c.raw.len(), prepared)
        }
        Err(finding) => return done(f, Some(*finding)),
    };
    for k in 1..=firsts.len() {
        let (start_index, len, prepared) = current;
        let registrars: Vec<headcount_core::entry::Registrar> = prepared
            .iter()
            .filter_map(|p| match p {
                Ok((_, Entry::Registrar(r), _, _)) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let keys = f.state.crypto_view(registrars.iter());
        let (finding, next) = rayon::join(
            || f.apply(start_index, prepared, credentials),
            || {
                (k < firsts.len()).then(|| {
                    chunk(k).map(|c| {
                        let prepared = prepare_chunk(&keys, &c.raw, credentials);
                        (c.start_index, c.raw.len(), prepared)
                    })
                })
            },
        );
        bar.inc(len as u64);
        if finding.is_some() {
            return done(f, finding);
        }
        match next {
            None => break,
            Some(Err(finding)) => return done(f, Some(*finding)),
            Some(Ok(n)) => current = n,
        }
    }
    done(f, None)
}

/// Our tally of every campaign at the end of the fold, keyed by id.
pub(crate) fn tallies_by_id(state: &LogState) -> BTreeMap<CampaignId, CampaignTally> {
    state
        .tallies()
        .into_iter()
        .map(|t| (t.campaign, t))
        .collect()
}
