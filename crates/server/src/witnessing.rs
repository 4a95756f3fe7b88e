//! Witnessing: after each checkpoint, collect C2SP `cosignature/v1`
//! cosignatures from the witnesses of the log's policy (C2SP tlog-policy,
//! tlog-witness), then publish the cosigned checkpoint and answer the
//! round's submitters with receipts that carry the cosignatures.
//!
//! The stage runs apart from the sequencer: a slow or dead witness delays
//! receipts by at most the timeout and never stalls sequencing. When rounds
//! pile up, the stage witnesses only the newest checkpoint (it includes every
//! earlier round) and moves those rounds' receipts to it.
//!
//! Each witness is sent a consistency proof from the size it last cosigned;
//! a witness that does not know that size answers 409 with its own, and the
//! stage retries once from there. A witness that is *ahead* of the log is an
//! alarm (the log was rolled back) and is reported loudly.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use headcount_core::EntryHash;
use headcount_cosignature::{Policy, PolicyWitness};
use headcount_tlog::{TreeSize, consistency_proof};
use headcount_witness::{ClientError, add_checkpoint_verified};
use tokio::sync::mpsc;

use crate::derived::Located;
use crate::log::{Committed, Log};

/// One sequenced round waiting for cosignatures.
pub(crate) struct Round {
    pub answers: Vec<(EntryHash, Located)>,
}

/// How the log uses witnesses.
pub struct WitnessingOptions {
    /// Witnesses (with URLs) and the quorum.
    pub policy: Policy,
    /// How long to wait for each witness.
    pub timeout: Duration,
}

impl Log {
    /// Starts collecting cosignatures for every checkpoint (call inside a
    /// Tokio runtime). The current checkpoint is witnessed at once.
    pub fn start_witnessing(self: &Arc<Self>, options: WitnessingOptions) {
        self.start_witnessing_scheduled(options, None);
    }

    /// Like [`Log::start_witnessing`]; with `every`, cosigned checkpoints are
    /// published (and receipts answered) only at fixed times — whole
    /// multiples of `every` since the Unix epoch — rather than after each
    /// round, so when a checkpoint and its cosignatures appear says nothing
    /// about when its entries were submitted.
    pub fn start_witnessing_scheduled(
        self: &Arc<Self>,
        options: WitnessingOptions,
        every: Option<Duration>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.witness_tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        tokio::spawn(stage(Arc::clone(self), options, rx, every));
    }

    /// Publishes the witness policy's text at `/policy` (and names it in
    /// `/v1/log`), so that declarants and auditors can fetch it, check it by
    /// other means, and pin it with `--policy FILE`.
    pub fn publish_witness_policy(&self, text: &str) {
        *self
            .witness_policy
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::from(text));
    }

    /// The published witness policy, if any.
    pub fn witness_policy(&self) -> Option<Arc<str>> {
        self.witness_policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// How long until the next whole multiple of `every` since the Unix epoch.
fn until_next_tick(every: Duration) -> Duration {
    let every_ms = every.as_millis().max(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let wait = every_ms - now_ms % every_ms;
    Duration::from_millis(u64::try_from(wait).unwrap_or(u64::MAX))
}

async fn stage(
    log: Arc<Log>,
    options: WitnessingOptions,
    mut rx: mpsc::UnboundedReceiver<Round>,
    every: Option<Duration>,
) {
    let http = match reqwest::Client::builder().timeout(options.timeout).build() {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the witness client");
            return;
        }
    };
    let witnesses = options.policy.witnesses().to_vec();
    let mut known: Vec<Option<u64>> = vec![None; witnesses.len()];
    let latest = log.committed();
    publish(
        &log,
        &options.policy,
        &witnesses,
        &http,
        &mut known,
        &latest,
        &[],
    )
    .await;
    loop {
        let mut rounds = Vec::new();
        match every {
            None => match rx.recv().await {
                Some(first) => rounds.push(first),
                None => return,
            },
            Some(every) => {
                // Collect rounds until the next tick; a closed channel
                // (shutdown) publishes what is waiting at once.
                let tick = tokio::time::sleep(until_next_tick(every));
                tokio::pin!(tick);
                let mut closed = false;
                while !closed {
                    tokio::select! {
                        () = &mut tick => break,
                        r = rx.recv() => match r {
                            Some(r) => rounds.push(r),
                            None => closed = true,
                        },
                    }
                }
                if rounds.is_empty() {
                    if closed {
                        return;
                    }
                    continue;
                }
            }
        }
        while let Ok(r) = rx.try_recv() {
            rounds.push(r);
        }
        let latest = log.committed();
        let answers: Vec<(EntryHash, Located)> =
            rounds.into_iter().flat_map(|r| r.answers).collect();
        let moved: Vec<EntryHash> = answers
            .iter()
            .filter(|(_, at)| at.receipt_size != latest.size)
            .map(|(h, _)| *h)
            .collect();
        publish(
            &log,
            &options.policy,
            &witnesses,
            &http,
            &mut known,
            &latest,
            &moved,
        )
        .await;
        for (h, at) in answers {
            log.answer_located(
                &h,
                Located {
                    receipt_size: latest.size,
                    ..at
                },
            );
        }
    }
}

async fn publish(
    log: &Log,
    policy: &Policy,
    witnesses: &[PolicyWitness],
    http: &reqwest::Client,
    known: &mut [Option<u64>],
    latest: &Committed,
    moved: &[EntryHash],
) {
    let results = join_all(
        witnesses
            .iter()
            .zip(known.iter())
            .map(|(w, k)| cosign(log, http, w, *k, latest)),
    )
    .await;
    let mut note = latest.note.as_ref().clone();
    let mut got = Vec::with_capacity(witnesses.len());
    for ((w, k), r) in witnesses.iter().zip(known.iter_mut()).zip(results) {
        match r {
            Ok(line) => {
                note.extend_from_slice(&line);
                *k = Some(latest.size);
                got.push(true);
            }
            Err(e) => {
                tracing::warn!(witness = %w.name, error = %e, size = latest.size, "no cosignature");
                got.push(false);
            }
        }
    }
    if !policy.quorum_met(&got) {
        tracing::warn!(
            size = latest.size,
            "the witness quorum was not met for this checkpoint"
        );
    }
    let result = log.with_db_mut(|db| db.set_cosigned(latest.size, &note, moved));
    if let Err(e) = result {
        tracing::error!(error = %e, "could not store the cosigned checkpoint");
    }
    *log.cosigned.write().unwrap_or_else(|e| e.into_inner()) = Some(Committed {
        size: latest.size,
        root: latest.root,
        note: Arc::new(note),
    });
}

/// One witness's cosignature line for `latest`.
async fn cosign(
    log: &Log,
    http: &reqwest::Client,
    w: &PolicyWitness,
    known: Option<u64>,
    latest: &Committed,
) -> Result<Vec<u8>, String> {
    let url = w
        .url
        .as_deref()
        .ok_or("the policy gives this witness no URL")?;
    let mut old = known.filter(|k| *k <= latest.size).unwrap_or(0);
    for _attempt in 0..2 {
        let proof: Vec<[u8; 32]> = if old == 0 || old == latest.size {
            Vec::new()
        } else {
            consistency_proof(
                log.tiles(),
                TreeSize(old),
                TreeSize(latest.size),
                latest.root,
            )
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|h| h.0)
            .collect()
        };
        match add_checkpoint_verified(http, url, &w.verifier, old, &proof, &latest.note).await {
            Ok((sig, _ts)) => return Ok(sig.to_bytes()),
            Err(ClientError::Conflict { witness_size }) if witness_size <= latest.size => {
                old = witness_size
            }
            Err(ClientError::Conflict { witness_size }) => {
                tracing::error!(
                    witness = %w.name,
                    witness_size,
                    log_size = latest.size,
                    "ALARM: the witness has cosigned a larger tree than this log has; the log was rolled back"
                );
                return Err(format!(
                    "witness is at size {witness_size}, ahead of the log"
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the witness kept changing its size".into())
}
