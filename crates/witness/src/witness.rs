//! The witness state machine: c2sp.org/tlog-witness add-checkpoint.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use headcount_cosignature::{CosignatureSigner, CosignatureVerifier, LogVerifier, split_note};
use signed_note::Signature;
use tlog_tiles::{Checkpoint, EMPTY_HASH, Hash};

use crate::request::AddCheckpointRequest;
use crate::state::Store;
use crate::{AddError, Error, WitnessConfig, origin_hash};

/// The latest checkpoint cosigned for one log.
#[derive(Debug, Clone)]
struct Latest {
    size: u64,
    root: Hash,
    /// The timestamp of our cosignature on it (0 if unknown, e.g. after a key change).
    timestamp: u64,
    /// The checkpoint text, the log signatures that verified and our cosignature.
    note: Vec<u8>,
}

#[derive(Debug, Default)]
struct LogState {
    latest: Option<Latest>,
    /// Set when persisting failed: the file may or may not hold the new state, so this log
    /// is refused (500) until restart, when the file is the truth again.
    poisoned: bool,
}

#[derive(Debug)]
struct Log {
    origin: String,
    verifiers: Vec<LogVerifier>,
    state: Mutex<LogState>,
}

/// A witness: its key, the known logs and their latest cosigned checkpoints, and the state
/// directory. Share it as `Arc<Witness>`; requests for one log are serialised by a mutex, and
/// the check-then-persist sequence is atomic under it.
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    /// Keyed by origin.
    logs: HashMap<String, Log>,
    /// origin hash (hex) → origin.
    by_hash: HashMap<String, String>,
    store: Store,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn load_latest(
    origin: &str,
    path: &Path,
    bytes: &[u8],
    own: &CosignatureVerifier,
) -> Result<Latest, Error> {
    let corrupt = |reason: &str| Error::CorruptState {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let note = split_note(bytes).map_err(|_| corrupt("not a signed note"))?;
    let cp = Checkpoint::from_bytes(note.text).map_err(|_| corrupt("not a checkpoint"))?;
    if cp.origin() != origin {
        return Err(corrupt("origin does not match file name"));
    }
    // Our own cosignature, when the key has not changed since; it gives the last timestamp.
    let timestamp = own.verify(bytes).unwrap_or(0);
    Ok(Latest {
        size: cp.size(),
        root: *cp.hash(),
        timestamp,
        note: bytes.to_vec(),
    })
}

impl Witness {
    /// Opens (creating if needed) the state directory and loads the latest cosigned checkpoint
    /// of every configured log. Fails if another process holds the directory, or a state file
    /// is unreadable: the witness never starts with less than it knew.
    pub fn open(config: WitnessConfig, state_dir: impl AsRef<Path>) -> Result<Self, Error> {
        let store = Store::open(state_dir.as_ref())?;
        let own = config.signer.verifier();
        let mut logs = HashMap::new();
        let mut by_hash = HashMap::new();
        for (origin, verifiers) in config.logs {
            let hash = origin_hash(&origin);
            let latest = match store.read(&hash)? {
                Some((path, bytes)) => Some(load_latest(&origin, &path, &bytes, &own)?),
                None => None,
            };
            if let Some(l) = &latest {
                tracing::info!(origin = %origin, size = l.size, "loaded witness state");
            }
            by_hash.insert(hash, origin.clone());
            logs.insert(
                origin.clone(),
                Log {
                    origin,
                    verifiers,
                    state: Mutex::new(LogState {
                        latest,
                        poisoned: false,
                    }),
                },
            );
        }
        Ok(Self {
            signer: config.signer,
            logs,
            by_hash,
            store,
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The witness's verifier key.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// The size of the latest checkpoint cosigned for `origin` (None if never, or unknown).
    pub fn latest_size(&self, origin: &str) -> Option<u64> {
        let log = self.logs.get(origin)?;
        let state = log.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.latest.as_ref().map(|l| l.size)
    }

    /// The latest cosigned checkpoint note (with the log's and the witness's signatures) for
    /// the log whose origin hashes to `origin_hash` (lowercase hex SHA-256).
    pub fn latest_checkpoint(&self, origin_hash: &str) -> Option<Vec<u8>> {
        let log = self.logs.get(self.by_hash.get(origin_hash)?)?;
        let state = log.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.latest.as_ref().map(|l| l.note.clone())
    }

    /// Handles an add-checkpoint request body; returns the response body (the cosignature
    /// line). Blocking: it fsyncs before returning. Checks, in the order of the spec:
    /// syntax (400), origin (404), log signature (403), old size ≤ size (400), old size equal
    /// to the latest cosigned size (409), empty-tree root / proof (422).
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<u8>, AddError> {
        let req = AddCheckpointRequest::parse(body)?;
        let note = split_note(req.note)
            .map_err(|_| AddError::BadRequest("malformed checkpoint note".into()))?;
        let cp = Checkpoint::from_bytes(note.text)
            .map_err(|_| AddError::BadRequest("malformed checkpoint".into()))?;
        let log = self.logs.get(cp.origin()).ok_or(AddError::UnknownLog)?;

        let mut log_sigs: Vec<&Signature> = Vec::new();
        for sig in &note.sigs {
            for v in log.verifiers.iter().filter(|v| v.matches(sig)) {
                if !v.verify_signature(note.text, sig.signature()) {
                    return Err(AddError::Forbidden(format!(
                        "invalid signature from log key {}",
                        v.name()
                    )));
                }
                if !log_sigs.contains(&sig) {
                    log_sigs.push(sig);
                }
            }
        }
        if log_sigs.is_empty() {
            return Err(AddError::Forbidden(
                "no signature from a trusted log key".into(),
            ));
        }
        if req.old_size > cp.size() {
            return Err(AddError::BadRequest(
                "old size is larger than the checkpoint size".into(),
            ));
        }

        let mut state = log.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.poisoned {
            return Err(AddError::Internal(
                "state for this log needs a restart".into(),
            ));
        }
        let latest_size = state.latest.as_ref().map_or(0, |l| l.size);
        if req.old_size != latest_size {
            return Err(AddError::Conflict { latest_size });
        }
        if cp.size() == 0 && *cp.hash() != EMPTY_HASH {
            return Err(AddError::Unprocessable(
                "a checkpoint of size 0 must have the empty tree root".into(),
            ));
        }
        match &state.latest {
            Some(latest) if req.old_size > 0 => {
                tlog_tiles::check_tree(&req.proof, cp.size(), *cp.hash(), latest.size, latest.root)
                    .map_err(|_| {
                        tracing::warn!(
                            origin = %log.origin, old_size = latest.size, size = cp.size(),
                            "inconsistent checkpoint refused (possible log misbehaviour)"
                        );
                        AddError::Unprocessable("consistency proof does not verify".into())
                    })?;
            }
            _ => {
                if !req.proof.is_empty() {
                    return Err(AddError::Unprocessable(
                        "the proof must be empty when the old size is 0".into(),
                    ));
                }
            }
        }

        // Never let timestamps go backwards for one log, even if the clock does.
        let last_ts = state.latest.as_ref().map_or(0, |l| l.timestamp);
        let timestamp = now().max(last_ts).max(1);
        let cosig = self
            .signer
            .cosign(note.text, timestamp)
            .map_err(|e| AddError::Internal(format!("cosigning: {e}")))?;
        let mut stored = note.text.to_vec();
        stored.push(b'\n');
        for s in &log_sigs {
            stored.extend(s.to_bytes());
        }
        let line = cosig.to_bytes();
        stored.extend_from_slice(&line);

        if let Err(e) = self.store.write(&origin_hash(&log.origin), &stored) {
            tracing::error!(origin = %log.origin, error = %e, "persisting witness state failed");
            state.poisoned = true;
            return Err(AddError::Internal("could not persist state".into()));
        }
        state.latest = Some(Latest {
            size: cp.size(),
            root: *cp.hash(),
            timestamp,
            note: stored,
        });
        tracing::info!(origin = %log.origin, size = cp.size(), "cosigned checkpoint");
        Ok(line)
    }
}
