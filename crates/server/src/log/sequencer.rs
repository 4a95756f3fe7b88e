//! The sequencer thread and its rounds.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use headcount_core::{CampaignId, EntryHash, Leaf, Timestamp};
use headcount_storage::AppliedLeaf;
use headcount_tlog::Checkpoint;
use rand::seq::SliceRandom;

use super::recovery::{load, sign_tally_notes};
use super::{
    Committed, Log, LogError, Outcome, Pending, Pool, Sequencer, SequencerOptions, SubmitError,
    lock, unix_now,
};
use crate::derived::Located;

pub(super) fn sequencer_loop(
    log: std::sync::Weak<Log>,
    pool: Arc<Mutex<Pool>>,
    wake: Arc<Condvar>,
    options: SequencerOptions,
    mut seq: Sequencer,
) {
    // A round starts no sooner than `min_round_interval` after the last one.
    let mut earliest = Instant::now();
    loop {
        let batch = {
            let mut pool = lock(&pool);
            while pool.queue.is_empty() && !pool.shutdown {
                pool = wake.wait(pool).unwrap_or_else(|e| e.into_inner());
            }
            if pool.queue.is_empty() && pool.shutdown {
                return;
            }
            let deadline = (Instant::now() + options.batch_interval).max(earliest);
            while !pool.shutdown {
                let now = Instant::now();
                if now >= deadline || (pool.queue.len() >= options.max_batch && now >= earliest) {
                    break;
                }
                let until = if pool.queue.len() >= options.max_batch {
                    earliest
                } else {
                    deadline
                };
                pool = wake
                    .wait_timeout(pool, until.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let n = pool.queue.len().min(options.max_batch);
            earliest = Instant::now() + options.min_round_interval;
            pool.queue.drain(..n).collect::<Vec<_>>()
        };
        // The log is only held while a round runs.
        let Some(this) = log.upgrade() else { return };
        if let Err(e) = this.sequence(&mut seq, batch) {
            tracing::error!(error = %e, "sequencing round failed; recovering from storage");
            this.recover(&mut seq);
        }
    }
}

impl Log {
    fn answer(&self, hash: &EntryHash, outcome: impl Fn() -> Outcome) {
        let waiters = lock(&self.pool).waiters.remove(hash).unwrap_or_default();
        for w in waiters {
            let _ = w.send(outcome());
        }
    }

    /// One sequencing round.
    fn sequence(&self, seq: &mut Sequencer, mut batch: Vec<Pending>) -> Result<(), LogError> {
        batch.shuffle(&mut rand::thread_rng());
        let mut accepted: Vec<Pending> = Vec::with_capacity(batch.len());
        let ts;
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            ts = Timestamp::coarse(unix_now()).max(state.last_timestamp);
            for p in batch {
                match state.validate(
                    ts,
                    &p.entry,
                    p.hash,
                    Some(p.token),
                    self.credentials.as_ref(),
                ) {
                    Ok(change) => {
                        state.apply(ts, change);
                        accepted.push(p);
                    }
                    Err(rejection) => {
                        self.remember_refusal(p.hash, rejection.clone());
                        self.answer(&p.hash, || Err(SubmitError::Rejected(rejection.clone())));
                    }
                }
            }
        }
        if accepted.is_empty() {
            return Ok(());
        }
        let leaves: Vec<Leaf> = accepted
            .iter()
            .map(|p| Leaf {
                timestamp: ts,
                entry: p.bytes.clone(),
            })
            .collect();
        let encoded: Vec<Vec<u8>> = leaves.iter().map(Leaf::encode).collect();
        let out = match seq.appender.append(&encoded) {
            Ok(o) => o,
            Err(e) => {
                self.fail_round(&accepted);
                return Err(e.into());
            }
        };
        let previous = self.committed().note;
        let write = || -> Result<Vec<u8>, LogError> {
            let cp = Checkpoint {
                origin: self.origin.clone(),
                size: out.size,
                root: out.root,
                extensions: vec![],
            };
            let note = seq.signer.sign(&cp)?;
            // The commit point: the round's tiles and its checkpoint.
            self.checkpoints
                .compare_and_swap(Some(&previous), &note, &out.tiles)?;
            Ok(note)
        };
        let note = match write() {
            Ok(n) => n,
            Err(e) => {
                self.fail_round(&accepted);
                return Err(e);
            }
        };
        // The checkpoint covering this round's full tiles is durable: their
        // partial tiles can go (readers of older checkpoints get prefixes).
        if let Err(e) = self.checkpoints.publish() {
            // Committed: recovery publishes it (before the next round).
            self.fail_round(&accepted);
            return Err(e.into());
        }
        let written: Vec<_> = out.tiles.iter().map(|(id, _)| *id).collect();
        if let Err(e) = self.tiles.prune_partials(&written) {
            tracing::warn!(error = %e, "could not delete partial tiles; retried at the next start");
        }
        let size = out.size.0;
        let tallies: Vec<_> = self.with_state(|s| {
            let touched: BTreeSet<CampaignId> = accepted
                .iter()
                .flat_map(|p| s.campaigns_affected(&p.entry))
                .collect();
            touched.iter().filter_map(|c| s.tally(c)).collect()
        });
        // A signed tally note for each campaign this round changed.
        let tallies = sign_tally_notes(&self.origin, &seq.signer, size, out.root, tallies);
        let first = out.first_index.0;
        let applied: Vec<AppliedLeaf<'_>> = accepted
            .iter()
            .zip(&leaves)
            .enumerate()
            .map(|(i, (p, leaf))| AppliedLeaf {
                index: first + i as u64,
                leaf,
                entry: &p.entry,
            })
            .collect();
        if let Err(e) = seq.db.apply(&applied, size, Some(&note), &tallies) {
            // The entries are committed; derived state catches up at the next start.
            tracing::error!(error = %e, "could not update derived state");
        }
        // Publish the checkpoint only once derived state (tallies, campaigns)
        // knows it, so readers never see a size the API cannot answer for.
        *self.committed.write().unwrap_or_else(|e| e.into_inner()) = Committed {
            size,
            root: out.root,
            note: Arc::new(note.clone()),
        };
        let answers: Vec<(EntryHash, Located)> = accepted
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = Located {
                    index: first + i as u64,
                    timestamp: ts.0,
                    receipt_size: size,
                };
                (p.hash, at)
            })
            .collect();
        // With witnesses, receipts wait for cosignatures (in another task, so a
        // slow witness never stalls sequencing); without, answer now.
        let round = crate::witnessing::Round { answers };
        let unsent = match lock(&self.witness_tx).as_ref() {
            Some(tx) => tx.send(round).err().map(|e| e.0),
            None => Some(round),
        };
        if let Some(round) = unsent {
            for (h, at) in round.answers {
                self.answer(&h, || Ok(at));
            }
        }
        self.metrics.round(accepted.len());
        for _ in &accepted {
            self.metrics.accepted();
        }
        tracing::debug!(size, appended = accepted.len(), "sequenced");
        Ok(())
    }

    /// Answers a waiter (used by the witnessing stage).
    pub(crate) fn answer_located(&self, hash: &EntryHash, at: Located) {
        self.answer(hash, || Ok(at));
    }

    fn fail_round(&self, accepted: &[Pending]) {
        for p in accepted {
            self.answer(&p.hash, || {
                Err(SubmitError::Internal(
                    "the log could not commit this round; retry".into(),
                ))
            });
        }
    }

    /// After a failed round the in-memory state may be ahead of storage:
    /// reload everything from storage through the start-up path.
    fn recover(&self, seq: &mut Sequencer) {
        match load(
            self.tiles.as_ref(),
            self.checkpoints.as_ref(),
            self.reads.as_ref(),
            &self.verifier,
            &seq.signer,
            seq.db.as_mut(),
        ) {
            Ok((appender, state, committed)) => {
                seq.appender = appender;
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
                *self.committed.write().unwrap_or_else(|e| e.into_inner()) = committed;
            }
            Err(e) => {
                tracing::error!(error = %e, "recovery failed; refusing further submissions");
                lock(&self.pool).shutdown = true;
            }
        }
    }
}
