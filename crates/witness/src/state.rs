//! Durable per-log state: one file per origin holding the latest cosigned checkpoint note
//! (log signatures that verified plus the witness's cosignature).
//!
//! Layout of the state directory:
//! - `LOCK`: held (advisory `flock`-style lock) by the one process using the directory.
//! - `<hex sha256(origin)>.checkpoint`: the latest cosigned note for that origin.
//! - `.<hex>.checkpoint.tmp<pid>` (older versions: `<hex>.checkpoint.tmp`): a write in
//!   progress; removed at start-up.
//!
//! A write is `headcount_storage::durable::write_atomic`: write the temp file, fsync it, rename
//! it over the final name, fsync the directory. Only then may the cosignature leave the process. A crash before the rename
//! leaves the old state; a crash after it leaves the new one; either is consistent with every
//! cosignature returned so far, because none was returned for the new one yet.

use std::fs;
use std::path::{Path, PathBuf};

use headcount_storage::durable::{self, LockFile};

use crate::Error;
use crate::error::io_err;

const SUFFIX: &str = ".checkpoint";
const TMP_SUFFIX: &str = ".checkpoint.tmp";

/// The state directory, locked for this process.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
    _lock: LockFile,
}

impl Store {
    /// Creates the directory if needed, takes its lock, removes stale temp files.
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let lock_path = dir.join("LOCK");
        let lock = LockFile::try_lock(&lock_path)
            .map_err(io_err(format!("locking {}", lock_path.display())))?
            .ok_or_else(|| Error::Locked(dir.to_owned()))?;
        for entry in fs::read_dir(dir).map_err(io_err(format!("reading {}", dir.display())))? {
            let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(TMP_SUFFIX) || durable::is_temporary(&name) {
                fs::remove_file(entry.path())
                    .map_err(io_err(format!("removing {}", entry.path().display())))?;
            }
        }
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    fn path(&self, origin_hash: &str) -> PathBuf {
        self.dir.join(format!("{origin_hash}{SUFFIX}"))
    }

    /// The stored note for an origin, if any.
    pub(crate) fn read(&self, origin_hash: &str) -> Result<Option<(PathBuf, Vec<u8>)>, Error> {
        let path = self.path(origin_hash);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
        }
    }

    /// Durably replaces the stored note for an origin.
    pub(crate) fn write(&self, origin_hash: &str, note: &[u8]) -> Result<(), Error> {
        let path = self.path(origin_hash);
        durable::write_atomic(&path, note).map_err(io_err(format!("writing {}", path.display())))
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    durable::sync_dir(dir).map_err(io_err(format!("syncing directory {}", dir.display())))
}
