//! The data directory's lock: one process at a time works on a data directory.
//!
//! `data/LOCK` is locked exclusively (`flock` on Unix, `LockFileEx` on Windows) for as long as
//! the returned [`DirLock`] lives. The operating system releases the lock when the process
//! ends, however it ends, so a `kill -9` never leaves a stale lock behind; the file itself
//! stays and means nothing on its own.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Name of the lock file in a data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Errors taking the lock.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another process (or another handle in this one) holds the lock.
    #[error("the data directory {0} is in use by another guildflow process (its LOCK is held); stop it first")]
    Held(PathBuf),
    /// The lock file could not be created or locked.
    #[error("cannot lock the data directory {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// An exclusive hold on a data directory, released when dropped.
#[derive(Debug)]
pub struct DirLock {
    // Holding the open file is what holds the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the exclusive lock of the data directory `data` (which must exist), without
/// waiting: [`LockError::Held`] when another process has it.
pub fn lock_data_dir(data: &Path) -> Result<DirLock, LockError> {
    let path = data.join(LOCK_FILE);
    let io_error = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(LockError::Held(data.to_owned())),
        Err(TryLockError::Error(source)) => Err(io_error(source)),
    }
}
