//! The mirror's files: `<dir>/LOCK` (held by the one process using the directory) and, per
//! log, `<dir>/<origin hash>/checkpoint` (the mirror checkpoint, cosigned) and
//! `<dir>/<origin hash>/tile/…` (tiles and entry bundles at their tlog-tiles paths), so that
//! the directory can also be served as static files.
//!
//! Every write goes to `<name>.tmp`, is fsynced, renamed over `<name>`, and the folder is
//! fsynced: a file is either absent, or complete and as verified. Tiles are written before
//! the checkpoint that covers them; the checkpoint is the commit point.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use headcount_tlog::{Error as TlogError, TileId, TileReader, tile_prefix};

use crate::Error;
use crate::error::io_err;

/// One log's directory in a locked mirror state directory.
#[derive(Debug)]
pub(crate) struct Store {
    log_dir: PathBuf,
    _lock: File,
}

impl Store {
    /// Creates `<dir>/<origin hash>/` if needed and takes `<dir>/LOCK`.
    pub(crate) fn open(dir: &Path, origin_hash: &str) -> Result<Self, Error> {
        let log_dir = dir.join(origin_hash);
        fs::create_dir_all(&log_dir).map_err(io_err(format!("creating {}", log_dir.display())))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(format!("opening {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_owned())),
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(format!("locking {}", lock_path.display()))(e));
            }
        }
        Ok(Self {
            log_dir,
            _lock: lock,
        })
    }

    fn tile_path(&self, id: TileId) -> PathBuf {
        self.log_dir.join(id.path())
    }

    /// The stored mirror checkpoint note, if any.
    pub(crate) fn checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        read_optional(&self.log_dir.join("checkpoint"))
    }

    /// Durably replaces the mirror checkpoint (the commit point).
    pub(crate) fn write_checkpoint(&self, note: &[u8]) -> Result<(), Error> {
        write_durably(&self.log_dir.join("checkpoint"), note)
    }

    /// The tile exactly as stored at its path (same width), if any.
    pub(crate) fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>, Error> {
        read_optional(&self.tile_path(id))
    }

    /// Whether the tile is stored at exactly this width.
    pub(crate) fn has(&self, id: TileId) -> bool {
        self.tile_path(id).is_file()
    }

    /// Durably stores a verified tile.
    pub(crate) fn write_tile(&self, id: TileId, data: &[u8]) -> Result<(), Error> {
        let path = self.tile_path(id);
        if let Some(parent) = path.parent()
            && !parent.is_dir()
        {
            fs::create_dir_all(parent).map_err(io_err(format!("creating {}", parent.display())))?;
            // The new folders' entries are durable once each folder above them is synced.
            for dir in parent.ancestors().skip(1) {
                sync_dir(dir)?;
                if dir == self.log_dir {
                    break;
                }
            }
        }
        write_durably(&path, data)
    }
}

impl TileReader for Store {
    /// The stored tile; a partial tile no longer stored is cut from the full one.
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, TlogError> {
        let storage = |e: Error| TlogError::Storage(Box::new(e));
        if let Some(t) = self.tile(id).map_err(storage)? {
            return Ok(t);
        }
        if !id.is_full() {
            let full = TileId { width: 256, ..id };
            if let Some(t) = self.tile(full).map_err(storage)? {
                return tile_prefix(id, &t);
            }
        }
        Err(TlogError::TileNotFound(id))
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(format!("reading {}", path.display()))(e)),
    }
}

/// Write to `<path>.tmp`, fsync, rename over `path`, fsync the folder.
fn write_durably(path: &Path, data: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?;
    f.write_all(data)
        .map_err(io_err(format!("writing {}", tmp.display())))?;
    f.sync_all()
        .map_err(io_err(format!("syncing {}", tmp.display())))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io_err(format!("renaming to {}", path.display())))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("syncing directory {}", dir.display())))
}
