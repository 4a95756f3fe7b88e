//! The file-system backend's commit point and lease: the checkpoint file
//! in the data directory, replaced by compare-and-swap under the `flock` of
//! `<data>/lock`, which is the single-sequencer lease.
//!
//! Tiles are written in place before the checkpoint (the commit point), as
//! they always were here: a tile beyond the checkpoint that an interrupted
//! round left is overwritten by the next round, and no reader trusts it,
//! because no checkpoint covers it. Publishing is therefore nothing: the
//! file system serves what it holds.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use headcount_storage::checkpoint::StagedTiles;
use headcount_storage::durable::LockFile;
use headcount_storage::{CheckpointStore, FencingToken, SequencerLease, StorageError};
use rayon::prelude::*;

use crate::tiles::{FsTiles, fs_error};

/// The checkpoint file beside the tiles. Only the holder of the data
/// directory's [`FsLease`] may write it.
pub struct FsCheckpoint {
    tiles: FsTiles,
    /// What this process last wrote (it is the only writer while it holds the lease).
    last: Mutex<Option<Vec<u8>>>,
}

impl FsCheckpoint {
    pub fn new(tiles: FsTiles) -> Self {
        FsCheckpoint {
            tiles,
            last: Mutex::new(None),
        }
    }
}

impl CheckpointStore for FsCheckpoint {
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let note = self
            .tiles
            .read_checkpoint()
            .map_err(|e| fs_error(self.tiles.root(), e))?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = note.clone();
        Ok(note)
    }

    fn compare_and_swap(
        &self,
        old: Option<&[u8]>,
        new: &[u8],
        tiles: &StagedTiles,
    ) -> Result<(), StorageError> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none() {
            *last = self
                .tiles
                .read_checkpoint()
                .map_err(|e| fs_error(self.tiles.root(), e))?;
        }
        if last.as_deref() != old {
            return Err(StorageError::CheckpointConflict);
        }
        tiles
            .par_iter()
            .try_for_each(|(id, data)| self.tiles.write_tile(*id, data))
            .map_err(|e| fs_error(self.tiles.root(), e))?;
        // The commit point.
        self.tiles
            .write_checkpoint(new)
            .map_err(|e| fs_error(self.tiles.root(), e))?;
        *last = Some(new.to_vec());
        Ok(())
    }

    fn publish(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The `flock` on `<data>/lock`: held for the life of the process (it dies
/// with it, so it never goes stale, and has no time to live). The file keeps
/// the last fencing token and holder, for operators and for growing tokens.
pub struct FsLease {
    path: PathBuf,
    held: Mutex<Option<(LockFile, FencingToken)>>,
}

impl FsLease {
    pub fn new(path: &Path) -> Self {
        FsLease {
            path: path.to_owned(),
            held: Mutex::new(None),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: std::io::Error) -> StorageError {
        fs_error(&self.path, e)
    }

    /// The holder named in the lock file (`<token> <holder>`).
    fn recorded(&self) -> (u64, String) {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let (token, holder) = text
            .trim()
            .split_once(' ')
            .unwrap_or(("0", "another process"));
        (token.parse().unwrap_or(0), holder.to_owned())
    }
}

impl SequencerLease for FsLease {
    fn try_acquire(&self, holder: &str, _ttl: Duration) -> Result<FencingToken, StorageError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let lock = match held.as_ref() {
            Some(_) => None,
            None => LockFile::try_lock(&self.path).map_err(|e| self.err(e))?,
        };
        let Some(lock) = lock else {
            return Err(StorageError::LeaseHeld {
                holder: self.recorded().1,
            });
        };
        let mut text = String::new();
        let mut file = lock.file();
        file.read_to_string(&mut text).map_err(|e| self.err(e))?;
        let last: u64 = text
            .split_whitespace()
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let token = FencingToken(last + 1);
        let holder: String = holder.chars().filter(|c| !c.is_control()).collect();
        file.set_len(0).map_err(|e| self.err(e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| self.err(e))?;
        file.write_all(format!("{} {holder}\n", token.0).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.err(e))?;
        *held = Some((lock, token));
        Ok(token)
    }

    fn renew(&self, token: FencingToken, _ttl: Duration) -> Result<(), StorageError> {
        match &*self.held.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((_, t)) if *t == token => Ok(()),
            _ => Err(StorageError::LeaseLost { token: token.0 }),
        }
    }

    fn release(&self, token: FencingToken) -> Result<(), StorageError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.as_ref().is_some_and(|(_, t)| *t == token) {
            *held = None;
        }
        Ok(())
    }
}
