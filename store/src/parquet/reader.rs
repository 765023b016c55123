//! The query side's view of the store: committed files plus the rows accepted but not yet
//! committed, taken together under one lock so a row is seen exactly once.

use super::files::read_events_file;
use super::manifest::{FileEntry, Manifest};
use super::replay::StoredRows;
use super::Result;
use crate::row::EventRow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the writer publishes: the committed manifest and the rows after its `flushed_lsn`.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) manifest: Arc<Manifest>,
    tail: Vec<EventRow>,
    /// The tail as handed to snapshots, rebuilt only after it changed: queries are far rarer
    /// than pushes, so a push costs its own rows and a snapshot at most one copy of the tail.
    tail_snapshot: Option<Arc<[EventRow]>>,
}

impl Published {
    pub(crate) fn new(manifest: Arc<Manifest>) -> Published {
        Published {
            manifest,
            tail: Vec::new(),
            tail_snapshot: None,
        }
    }

    /// Adds accepted rows, except those already committed.
    pub(crate) fn push_tail(&mut self, rows: &[EventRow]) {
        let flushed = self.manifest.flushed_lsn;
        let before = self.tail.len();
        self.tail.extend(
            rows.iter()
                .filter(|r| flushed.is_none_or(|f| r.lsn > f))
                .cloned(),
        );
        if self.tail.len() != before {
            self.tail_snapshot = None;
        }
    }

    /// Publishes a committed manifest and drops the tail rows it now covers, in one step.
    pub(crate) fn commit(&mut self, manifest: Arc<Manifest>) -> Arc<Manifest> {
        if let Some(flushed) = manifest.flushed_lsn {
            let before = self.tail.len();
            self.tail.retain(|r| r.lsn > flushed);
            if self.tail.len() != before {
                self.tail_snapshot = None;
            }
        }
        std::mem::replace(&mut self.manifest, manifest)
    }

    pub(crate) fn tail_len(&self) -> usize {
        self.tail.len()
    }

    fn tail_snapshot(&mut self) -> Arc<[EventRow]> {
        self.tail_snapshot
            .get_or_insert_with(|| Arc::from(self.tail.as_slice()))
            .clone()
    }
}

pub(crate) fn lock(shared: &Mutex<Published>) -> MutexGuard<'_, Published> {
    // A panic while holding the lock cannot leave `Published` half-updated (every update is
    // one assignment or one retain), so a poisoned lock is still consistent.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A cheap, clonable handle on the store for readers in the same process.
#[derive(Clone, Debug)]
pub struct StoreReader {
    pub(crate) dir: Arc<Path>,
    pub(crate) shared: Arc<Mutex<Published>>,
}

impl StoreReader {
    /// A consistent view: the committed files and every accepted row not in them.
    pub fn snapshot(&self) -> StoreSnapshot {
        let mut published = lock(&self.shared);
        StoreSnapshot {
            dir: self.dir.to_path_buf(),
            manifest: published.manifest.clone(),
            tail: published.tail_snapshot(),
        }
    }

    /// The committed manifest alone.
    pub fn manifest(&self) -> Arc<Manifest> {
        lock(&self.shared).manifest.clone()
    }

    /// The events directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A consistent view of the store at one moment. Its files stay on disk while the snapshot
/// (its `manifest`) is alive, even if compaction or retention replaced them meanwhile.
#[derive(Clone, Debug)]
pub struct StoreSnapshot {
    /// The events directory; [`FileEntry::path`] is relative to it.
    pub dir: PathBuf,
    /// The committed files.
    pub manifest: Arc<Manifest>,
    /// Rows accepted but not in a committed file, in acceptance (lsn) order; none of them is
    /// in `manifest`'s files.
    pub tail: Arc<[EventRow]>,
}

impl StoreSnapshot {
    /// Absolute paths of the files that may hold rows of `guild` in `[from_ms, to_ms)` (see
    /// [`Manifest::files_for`]).
    pub fn paths_for(
        &self,
        guild: Option<u64>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Vec<PathBuf> {
        self.manifest
            .files_for(guild, from_ms, to_ms)
            .into_iter()
            .map(|f| f.path_in(&self.dir))
            .collect()
    }

    /// Every row of one committed file, in file order (guild, ts, lsn).
    pub fn read_file(&self, file: &FileEntry) -> Result<Vec<EventRow>> {
        read_events_file(&file.path_in(&self.dir))
    }

    /// Every committed row with an lsn after `after` (all when None), in lsn order; the tail
    /// is not included.
    pub fn rows_after(&self, after: Option<u64>) -> StoredRows {
        StoredRows::new(self.dir.clone(), self.manifest.clone(), after)
    }
}
