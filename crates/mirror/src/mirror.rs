//! The mirror state machine: what it holds, what it accepts, and the commit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use headcount_cosignature::split_note;
use headcount_tlog::{
    Checkpoint, Error as TlogError, TileId, TileReader, TreeSize, tile_prefix, tiles_for_size,
    tree_root, verify_tiles,
};

use crate::store::Store;
use crate::{Error, MirrorConfig, origin_hash};

/// The mirror checkpoint: what is stored and served.
#[derive(Clone)]
struct Held {
    checkpoint: Checkpoint,
    /// The note served: the log's text and signature lines, then the mirror's cosignature.
    note: Vec<u8>,
    /// The mirror cosignature's timestamp (never goes backwards).
    timestamp: u64,
}

/// A mirror of one log, with its store. Every method is synchronous (commits fsync); run
/// them off an async runtime's workers.
pub struct Mirror {
    config: MirrorConfig,
    origin_hash: String,
    store: Store,
    held: Mutex<Option<Held>>,
    /// Serialises commits (readers use `held`).
    commit: Mutex<()>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("name", &self.config.name())
            .field("origin", &self.config.origin())
            .field("size", &self.size())
            .finish()
    }
}

impl Mirror {
    /// Opens (or starts) the mirror state in `dir`, taking its lock. A stored checkpoint must
    /// carry the log's signature and this mirror's own cosignature, or the state is refused.
    pub fn open(config: MirrorConfig, dir: &Path) -> Result<Self, Error> {
        let origin_hash = origin_hash(config.origin());
        let store = Store::open(dir, &origin_hash)?;
        let held = match store.checkpoint()? {
            None => None,
            Some(note) => {
                let checkpoint = config
                    .log
                    .verify(&note)
                    .map_err(|e| Error::CorruptState(format!("the log's signature: {e}")))?;
                let timestamp =
                    config.signer.verifier().verify(&note).map_err(|e| {
                        Error::CorruptState(format!("the mirror's cosignature: {e}"))
                    })?;
                Some(Held {
                    checkpoint,
                    note,
                    timestamp,
                })
            }
        };
        if let Some(h) = &held {
            tracing::info!(origin = %config.origin(), size = h.checkpoint.size.0, "loaded mirror state");
        }
        Ok(Self {
            config,
            origin_hash,
            store,
            held: Mutex::new(held),
            commit: Mutex::new(()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MirrorConfig {
        &self.config
    }

    /// `sha256(origin)` in lowercase hex: the path segment the log is served under.
    pub fn origin_hash(&self) -> &str {
        &self.origin_hash
    }

    /// The mirror checkpoint note (log signature, witness cosignatures, mirror cosignature).
    pub fn checkpoint_note(&self) -> Option<Vec<u8>> {
        self.held().map(|h| h.note)
    }

    /// The mirror checkpoint's tree size (0 before the first commit).
    pub fn size(&self) -> u64 {
        self.held().map_or(0, |h| h.checkpoint.size.0)
    }

    fn held(&self) -> Option<Held> {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A stored tile or entry bundle (for serving): as stored, or a partial tile cut from the
    /// full one stored (tiles only grow at the end, so that is what the partial one held).
    pub fn stored_tile(&self, id: TileId) -> Result<Option<Vec<u8>>, Error> {
        match self.store.read_tile(id) {
            Ok(t) => Ok(Some(t)),
            Err(TlogError::TileNotFound(_)) => Ok(None),
            Err(e) => Err(Error::Tiles(e)),
        }
    }

    /// Checks a checkpoint note from the log: the log's signature, the witness policy, not
    /// behind the mirror checkpoint, and at the same size the same root. `Ok(None)`: nothing
    /// new (the same tree). Consistency with a larger tree is checked by [`Mirror::commit`],
    /// from the tiles.
    pub fn check_checkpoint(&self, note: &[u8]) -> Result<Option<Checkpoint>, Error> {
        let cp = self
            .config
            .log
            .verify(note)
            .map_err(|e| Error::BadCheckpoint(e.to_string()))?;
        if let Some(policy) = &self.config.policy {
            let log = headcount_cosignature::LogVerifier::from_vkey(&self.config.log_vkey)
                .map_err(|e| Error::Config(format!("the log key: {e}")))?;
            policy
                .check_with_log(note, &log)
                .map_err(|e| Error::Policy(e.to_string()))?;
        }
        match self.held() {
            Some(h) if cp.size.0 < h.checkpoint.size.0 => Err(Error::Behind {
                held: h.checkpoint.size.0,
                new: cp.size.0,
            }),
            Some(h) if cp.size == h.checkpoint.size => {
                if cp.root == h.checkpoint.root {
                    Ok(None)
                } else {
                    Err(Error::Inconsistent {
                        held: h.checkpoint.size.0,
                        new: cp.size.0,
                        reason: "another root hash at the same size".into(),
                    })
                }
            }
            _ => Ok(Some(cp)),
        }
    }

    /// The tiles and entry bundles of the tree of `size` that the mirror does not hold yet
    /// (full tiles held are immutable; partial ones are fetched at their new width).
    pub fn tiles_needed(&self, size: TreeSize) -> Vec<TileId> {
        tiles_for_size(size)
            .into_iter()
            .filter(|id| !self.store.has(*id))
            .collect()
    }

    /// Verifies a checkpoint from the log together with the `fetched` tiles (with those held)
    /// and, if everything verifies, stores the tiles, cosigns the checkpoint and makes it the
    /// mirror checkpoint. Checks: [`Mirror::check_checkpoint`]; every tile and entry bundle
    /// of the new tree hashes up to its root; the mirrored tree's root is the root of the
    /// same tiles at the mirrored size (the new tree extends it). Returns the new mirror
    /// checkpoint note. On any error nothing is stored.
    pub fn commit(
        &self,
        note: &[u8],
        fetched: &HashMap<TileId, Vec<u8>>,
    ) -> Result<Vec<u8>, Error> {
        let _guard = self.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(cp) = self.check_checkpoint(note)? else {
            return self
                .checkpoint_note()
                .ok_or_else(|| Error::CorruptState("no mirror checkpoint".into()));
        };
        let reader = Overlay {
            fetched,
            store: &self.store,
        };
        verify_tiles(&reader, cp.size, cp.root)?;
        let held = self.held();
        if let Some(h) = &held
            && h.checkpoint.size.0 > 0
        {
            let old = tree_root(&reader, h.checkpoint.size)?;
            if old != h.checkpoint.root {
                return Err(Error::Inconsistent {
                    held: h.checkpoint.size.0,
                    new: cp.size.0,
                    reason: "its tiles do not contain the mirrored tree".into(),
                });
            }
        }
        // Everything verified: store the tiles, then the checkpoint (the commit point).
        for id in tiles_for_size(cp.size) {
            if let Some(t) = fetched.get(&id) {
                self.store.write_tile(id, t)?;
            }
        }
        let last = held.as_ref().map_or(0, |h| h.timestamp);
        let timestamp = now().max(last).max(1);
        let mirrored = self.cosigned_note(note, timestamp)?;
        self.store.write_checkpoint(&mirrored)?;
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(Held {
            checkpoint: cp.clone(),
            note: mirrored.clone(),
            timestamp,
        });
        tracing::info!(origin = %self.config.origin(), size = cp.size.0, "mirrored checkpoint");
        Ok(mirrored)
    }

    /// After a [`Mirror::commit`] failed on the tiles: checks the log's tree of the checkpoint
    /// in `note` from `all` of its tiles alone (none of the held ones). If that tree is sound
    /// but does not contain the mirrored one, the log signed two inconsistent trees: a fork,
    /// [`Error::Inconsistent`]. Otherwise `Ok(())`: the log served bad tiles, nothing more.
    pub fn classify_failure(
        &self,
        note: &[u8],
        all: &HashMap<TileId, Vec<u8>>,
    ) -> Result<(), Error> {
        let (Some(cp), Some(h)) = (self.check_checkpoint(note)?, self.held()) else {
            return Ok(());
        };
        let empty = HashMap::new();
        let reader = Overlay {
            fetched: all,
            store: &EmptyStore(&empty),
        };
        if verify_tiles(&reader, cp.size, cp.root).is_err() {
            return Ok(());
        }
        match tree_root(&reader, h.checkpoint.size) {
            Ok(root) if root == h.checkpoint.root => Ok(()),
            _ => Err(Error::Inconsistent {
                held: h.checkpoint.size.0,
                new: cp.size.0,
                reason: "the log's own tiles of the new tree do not contain the mirrored tree \
                         (two signed checkpoints on different branches)"
                    .into(),
            }),
        }
    }

    /// The log's note with its signature lines (except any by this mirror's key) and a fresh
    /// mirror cosignature.
    fn cosigned_note(&self, note: &[u8], timestamp: u64) -> Result<Vec<u8>, Error> {
        let split = split_note(note).map_err(|e| Error::BadCheckpoint(e.to_string()))?;
        let ours = self.config.signer.verifier();
        let cosig = self
            .config
            .signer
            .cosign(split.text, timestamp)
            .map_err(|e| Error::Cosign(e.to_string()))?;
        let mut out = split.text.to_vec();
        out.push(b'\n');
        for s in split.sigs.iter().filter(|s| !ours.matches(s)) {
            out.extend(s.to_bytes());
        }
        out.extend(cosig.to_bytes());
        Ok(out)
    }
}

/// Fetched tiles over the stored ones.
struct Overlay<'a> {
    fetched: &'a HashMap<TileId, Vec<u8>>,
    store: &'a dyn TileReader,
}

/// No tiles at all.
struct EmptyStore<'a>(&'a HashMap<TileId, Vec<u8>>);

impl TileReader for EmptyStore<'_> {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        self.0.get(&id).cloned().ok_or(TlogError::TileNotFound(id))
    }
}

impl TileReader for Overlay<'_> {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        if let Some(t) = self.fetched.get(&id) {
            return Ok(t.clone());
        }
        if !id.is_full() {
            // A narrower view of a tile fetched wider (an older tree's edge).
            if let Some((_, t)) = self
                .fetched
                .iter()
                .find(|(k, _)| k.level == id.level && k.index == id.index && k.width > id.width)
            {
                return tile_prefix(id, t);
            }
        }
        self.store.read_tile(id)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
