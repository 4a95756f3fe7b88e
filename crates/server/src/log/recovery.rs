//! Start-up and recovery: one path for both.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use headcount_core::{CampaignId, Leaf, LogState};
use headcount_storage::{AppliedLeaf, CheckpointStore, DerivedWriter, ReadModel, TileStore};
use headcount_tlog::{
    Appender, Checkpoint, EMPTY_ROOT, Hash, LogSigner, LogVerifier, TileId, TreeSize, decode_bundle,
};

use super::{Committed, LogError};

/// Recovery: the checkpoint, the tree edge, the rules state, SQLite caught up.
pub(super) fn load(
    tiles: &dyn TileStore,
    checkpoints: &dyn CheckpointStore,
    reads: &dyn ReadModel,
    verifier: &LogVerifier,
    signer: &LogSigner,
    db: &mut dyn DerivedWriter,
) -> Result<(Appender, LogState, Committed), LogError> {
    // A round committed before a crash may not be published yet.
    checkpoints.publish()?;
    // Leaves in our own storage were verified when accepted: replay re-checks
    // the rules, not the signatures and proofs.
    let committed = match checkpoints.load()? {
        Some(note) => {
            let cp = verifier.verify(&note)?;
            Committed {
                size: cp.size.0,
                root: cp.root,
                note: Arc::new(note),
            }
        }
        None => {
            // A tree without its checkpoint is not a new log: starting afresh
            // would overwrite its tiles with a different history (a fork).
            if tiles.has_tiles()? {
                return Err(LogError::NoCheckpoint(tiles.describe()));
            }
            let cp = Checkpoint {
                origin: signer.origin().to_owned(),
                size: TreeSize(0),
                root: EMPTY_ROOT,
                extensions: vec![],
            };
            let note = signer.sign(&cp)?;
            checkpoints.compare_and_swap(None, &note, &[])?;
            checkpoints.publish()?;
            Committed {
                size: 0,
                root: EMPTY_ROOT,
                note: Arc::new(note),
            }
        }
    };
    let appender = if committed.size == 0 {
        Appender::empty()
    } else {
        Appender::load(TreeSize(committed.size), committed.root, tiles)?
    };
    let mut applied = db.applied_size()?;
    if applied > committed.size {
        tracing::warn!(
            applied,
            size = committed.size,
            "derived state is ahead of the log; rebuilding it"
        );
        db.reset()?;
        applied = 0;
    }
    let mut state = LogState::new();
    let mut touched: BTreeSet<CampaignId> = BTreeSet::new();
    let started = Instant::now();
    let mut index = 0u64;
    while index < committed.size {
        let n = index / 256;
        let width = (committed.size - n * 256).min(256) as u16;
        let bundle = tiles.read_tile(TileId {
            level: None,
            index: n,
            width,
        })?;
        let raw = decode_bundle(&bundle)?;
        let mut leaves = Vec::with_capacity(raw.len());
        for r in raw {
            let leaf = Leaf::decode(r).map_err(|e| LogError::CorruptLeaf {
                index,
                reason: e.to_string(),
            })?;
            let entry = state.replay(&leaf).map_err(|e| LogError::CorruptLeaf {
                index,
                reason: e.to_string(),
            })?;
            if index >= applied {
                touched.extend(state.campaigns_affected(&entry));
                leaves.push((index, leaf, entry));
            }
            index += 1;
        }
        if !leaves.is_empty() {
            let applied_leaves: Vec<AppliedLeaf<'_>> = leaves
                .iter()
                .map(|(i, l, e)| AppliedLeaf {
                    index: *i,
                    leaf: l,
                    entry: e,
                })
                .collect();
            db.apply(&applied_leaves, index, None, &[])?;
        }
    }
    if !touched.is_empty() {
        let tallies: Vec<_> = touched.iter().filter_map(|c| state.tally(c)).collect();
        let tallies = sign_tally_notes(
            signer.origin(),
            signer,
            committed.size,
            committed.root,
            tallies,
        );
        db.apply(&[], committed.size, Some(&committed.note), &tallies)?;
        tracing::info!(
            from = applied,
            to = committed.size,
            "caught derived state up with the log"
        );
    } else if reads.checkpoint(committed.size)?.is_none() {
        db.apply(&[], committed.size, Some(&committed.note), &[])?;
    }
    tracing::info!(
        size = committed.size,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "log loaded"
    );
    Ok((appender, state, committed))
}

/// Signs one tally note per campaign (`headcount_core::notes`): each a few
/// hundred bytes, whatever the number of campaigns in the log.
pub(super) fn sign_tally_notes(
    origin: &str,
    signer: &LogSigner,
    size: u64,
    root: Hash,
    tallies: Vec<headcount_core::CampaignTally>,
) -> Vec<(headcount_core::CampaignTally, Option<Vec<u8>>)> {
    use base64::Engine;
    let root = base64::engine::general_purpose::STANDARD.encode(root.0);
    tallies
        .into_iter()
        .map(|t| {
            let text =
                headcount_core::notes::CountsNote::campaign_note(origin, size, &root, &t).to_text();
            let signed = signed_note::Note::new(text.as_bytes(), &[])
                .and_then(|mut n| n.add_sigs(&[signer]).map(|()| n.to_bytes()));
            let note = match signed {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::error!(error = %e, "could not sign a tally note");
                    None
                }
            };
            (t, note)
        })
        .collect()
}
