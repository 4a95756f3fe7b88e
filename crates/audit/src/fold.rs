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
/// of the state at the start of the chunk plus the chunk's own registrar
/// entries ([`LogState::crypto_view`]). Any failure here is settled by
/// `validate`, which redoes the check against the exact state before the
/// leaf (and gives the same code).
fn prepare_chunk(
    state: &LogState,
    raw: &[&[u8]],
    credentials: &dyn CredentialVerifier,
) -> Vec<Prepared> {
    let decoded: Vec<Decoded> = raw.par_iter().map(|r| decode(r)).collect();
    let view = state.crypto_view(decoded.iter().filter_map(|d| match d {
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
    let mut state = start;
    let mut compared = 0;
    let mut last_entry = BTreeMap::new();
    let from = state.size;
    let mut stops = if from == 0 {
        stops.range(..=size).peekable()
    } else {
        // Tallies at `from` and before were compared when `from` was verified.
        stops.range(from + 1..=size.max(from + 1)).peekable()
    };
    let done = |state: LogState,
                finding: Option<Finding>,
                compared: u64,
                last_entry: BTreeMap<CampaignId, u64>| {
        bar.finish_and_clear();
        FoldOutcome {
            state,
            finding,
            compared,
            last_entry,
        }
    };
    // Tallies published at size 0 (there can be none: no campaign exists yet).
    while let Some((&s, theirs)) = stops.next_if(|(s, _)| **s == 0) {
        if let Some(f) = compare(&state, s, theirs, &mut compared) {
            return done(state, Some(f), compared, last_entry);
        }
    }
    let bundles = bundle_count(size);
    let mut first_bundle = from / TILE_WIDTH;
    // Leaves of the first bundle already folded.
    let mut skip = (from % TILE_WIDTH) as usize;
    while first_bundle < bundles && from < size {
        let last = (first_bundle + CHUNK_BUNDLES).min(bundles);
        let mut raw: Vec<&[u8]> = Vec::with_capacity(((last - first_bundle) * TILE_WIDTH) as usize);
        for n in first_bundle..last {
            let entries = tiles.bundle(n).map(decode_bundle);
            match entries {
                Some(Ok(e)) => raw.extend(e),
                _ => {
                    let f = Finding::TreeMismatch {
                        tile: Some(
                            TileId {
                                level: None,
                                index: n,
                                width: 0,
                            }
                            .path(),
                        ),
                        reason: "entry bundle missing or malformed".into(),
                    };
                    return done(state, Some(f), compared, last_entry);
                }
            }
        }
        let start_index = first_bundle * TILE_WIDTH + skip as u64;
        let raw: Vec<&[u8]> = raw.into_iter().skip(skip).collect();
        skip = 0;
        let prepared: Vec<Prepared> = prepare_chunk(&state, &raw, credentials);
        for (i, p) in prepared.into_iter().enumerate() {
            let index = start_index + i as u64;
            let result = p.and_then(|(leaf, entry, hash, token)| {
                state
                    .validate(leaf.timestamp, &entry, hash, token, credentials)
                    .map(|change| (leaf.timestamp, change, entry))
            });
            match result {
                Ok((ts, change, entry)) => {
                    state.apply(ts, change);
                    for c in state.campaigns_affected(&entry) {
                        last_entry.insert(c, index);
                    }
                }
                Err(r) => {
                    let f = Finding::InvalidEntry {
                        index,
                        code: r.code(),
                        message: r.to_string(),
                    };
                    return done(state, Some(f), compared, last_entry);
                }
            }
            while let Some((&s, theirs)) = stops.next_if(|(s, _)| **s == state.size) {
                if let Some(f) = compare(&state, s, theirs, &mut compared) {
                    return done(state, Some(f), compared, last_entry);
                }
            }
        }
        bar.inc(raw.len() as u64);
        first_bundle = last;
    }
    done(state, None, compared, last_entry)
}

/// Our tally of every campaign at the end of the fold, keyed by id.
pub(crate) fn tallies_by_id(state: &LogState) -> BTreeMap<CampaignId, CampaignTally> {
    state
        .tallies()
        .into_iter()
        .map(|t| (t.campaign, t))
        .collect()
}
