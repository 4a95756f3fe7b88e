//! Crash-safe file writes and lock files: the one copy every crate uses.
//!
//! A file is written to a temporary name in the same directory, fsynced,
//! renamed over its final name, and then the directory is fsynced, so that
//! after a crash the path holds either the old contents or the new, never a
//! torn file, and a completed write survives power loss.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `data` to `path` atomically and durably, creating parent directories.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    create_dir_all_durable(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}{TEMP_MARK}{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// What marks [`write_atomic`]'s temporary files: `.<name>.tmp<pid>`.
const TEMP_MARK: &str = ".tmp";

/// Whether a file name is one of [`write_atomic`]'s temporary files, which
/// only a write interrupted by a crash leaves behind.
pub fn is_temporary(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    rest.rsplit_once(TEMP_MARK).is_some_and(|(stem, pid)| {
        !stem.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
    })
}

/// fsyncs a directory so that renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a directory and its missing parents, fsyncing each parent whose
/// entries changed.
pub fn create_dir_all_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// An exclusive advisory lock (`flock`) on a file, held until dropped: one
/// process at a time per data directory. The lock dies with its process, so
/// a crash never leaves a stale lock behind.
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    /// Takes the lock on `path` (creating the file): `Ok(None)` if another
    /// open file holds it (in this process or another).
    pub fn try_lock(path: &Path) -> io::Result<Option<LockFile>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockFile {
                file,
                path: path.to_owned(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The locked file (to keep small state in it, such as a counter).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c/file");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file")]);
    }

    #[test]
    fn a_lock_file_admits_one_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let first = LockFile::try_lock(&p).unwrap().expect("free");
        assert!(LockFile::try_lock(&p).unwrap().is_none(), "held");
        drop(first);
        assert!(LockFile::try_lock(&p).unwrap().is_some(), "free again");
    }

    #[test]
    fn temporary_names_are_recognised_and_nothing_else() {
        use std::ffi::OsStr;
        for t in [".checkpoint.tmp123", ".067.tmp1", ".a.tmp.tmp9"] {
            assert!(is_temporary(OsStr::new(t)), "{t}");
        }
        for n in [
            "checkpoint",
            "067",
            ".tmp123",
            ".checkpoint.tmp",
            ".checkpoint.tmp12a",
            "checkpoint.tmp123",
            "x001",
            "067.p",
        ] {
            assert!(!is_temporary(OsStr::new(n)), "{n}");
        }
    }
}
