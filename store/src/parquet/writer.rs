//! [`ParquetStore`]: the single writer of the events directory.

use super::files::{create_dirs_durably, sync_dir, write_events_file, Encoding};
use super::layout::{bucket_of, day_of, part_file_name, partition_dir, TEMP_SUFFIX};
use super::manifest::{FileEntry, Manifest, MANIFEST_FILE};
use super::reader::{lock, Published, StoreReader};
use super::replay::StoredRows;
use super::{io_error, ParquetStoreError, Result};
use crate::row::EventRow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Settings of the events directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetConfig {
    /// Guild buckets per day (`guild_id % guild_buckets`). Fixed once a directory has files:
    /// an existing manifest's value wins over this one.
    pub guild_buckets: u32,
    /// Rows per row group: large enough for sequential scans, and the unit of memory when
    /// writing.
    pub row_group_rows: usize,
    /// Days of raw events kept by [`ParquetStore::apply_retention`]; None keeps everything.
    pub retention_days: Option<u32>,
    /// A file with fewer rows is small: compaction merges the small files of a partition.
    pub compact_below_rows: u64,
    /// Compaction merges a partition only once it has at least this many small files (≥ 2).
    pub compact_min_files: usize,
    /// Upper bound on the rows of one merged file, which bounds compaction's memory.
    pub compact_max_rows: u64,
    /// zstd level of every column (1 fast .. 22 small).
    pub zstd_level: i32,
}

impl Default for ParquetConfig {
    fn default() -> Self {
        ParquetConfig {
            guild_buckets: 16,
            row_group_rows: 128 * 1024,
            retention_days: Some(30),
            compact_below_rows: 128 * 1024,
            compact_min_files: 2,
            compact_max_rows: 512 * 1024,
            zstd_level: 3,
        }
    }
}

/// What one [`ParquetStore::write`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// Files written and committed.
    pub files: usize,
    /// Rows written.
    pub rows: u64,
    /// Bytes of the files written.
    pub bytes: u64,
    /// Rows dropped because an earlier commit already holds their lsn (a retry).
    pub skipped_rows: u64,
    /// The manifest's `flushed_lsn` after the write.
    pub flushed_lsn: Option<u64>,
    /// Whether a new manifest was committed (false when there was nothing new).
    pub committed: bool,
}

/// What opening the directory found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Files not in the manifest (a crash's leftovers, temp files) that were deleted.
    pub leftovers_removed: usize,
    /// Files the manifest lists that are not on disk (reported, reads of them will fail).
    pub missing_files: Vec<String>,
}

/// A manifest replaced by a newer one, and the files only it (and older ones) listed: deleted
/// once no snapshot holds it any more.
#[derive(Debug)]
struct Retired {
    manifest: Arc<Manifest>,
    obsolete: Vec<String>,
}

/// The single writer of an events directory (`<data>/events`).
#[derive(Debug)]
pub struct ParquetStore {
    pub(super) dir: PathBuf,
    pub(super) config: ParquetConfig,
    pub(super) shared: Arc<Mutex<Published>>,
    /// In replacement order; a snapshot of an older manifest may still read any file a newer
    /// one dropped, so files are deleted front to back only.
    retired: VecDeque<Retired>,
    open_report: OpenReport,
}

impl ParquetStore {
    /// Opens (creating if needed) the events directory `dir`: loads the manifest, then deletes
    /// every file it does not list (temp files, files written before a crash interrupted
    /// their commit, files replaced before a crash interrupted their deletion).
    pub fn open(dir: &Path, config: ParquetConfig) -> Result<ParquetStore> {
        if config.guild_buckets == 0 {
            return Err(ParquetStoreError::Config(
                "guild_buckets must be at least 1",
            ));
        }
        if config.row_group_rows == 0 {
            return Err(ParquetStoreError::Config(
                "row_group_rows must be at least 1",
            ));
        }
        if parquet::basic::ZstdLevel::try_new(config.zstd_level).is_err() {
            return Err(ParquetStoreError::Config(
                "zstd_level must be within 1..=22",
            ));
        }
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let manifest = match Manifest::load(dir)? {
            Some(m) => {
                if m.guild_buckets != config.guild_buckets {
                    tracing::warn!(
                        dir = %dir.display(),
                        stored = m.guild_buckets,
                        configured = config.guild_buckets,
                        "events directory keeps the guild bucket count it was written with"
                    );
                }
                m
            }
            None => Manifest::empty(config.guild_buckets),
        };
        let open_report = remove_leftovers(dir, &manifest)?;
        if open_report.leftovers_removed > 0 {
            tracing::info!(
                dir = %dir.display(),
                removed = open_report.leftovers_removed,
                "removed uncommitted events files"
            );
        }
        for missing in &open_report.missing_files {
            tracing::error!(dir = %dir.display(), file = %missing, "committed events file is missing");
        }
        Ok(ParquetStore {
            dir: dir.to_owned(),
            config,
            shared: Arc::new(Mutex::new(Published::new(Arc::new(manifest)))),
            retired: VecDeque::new(),
            open_report,
        })
    }

    /// What [`ParquetStore::open`] cleaned up or found missing.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// The events directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings.
    pub fn config(&self) -> &ParquetConfig {
        &self.config
    }

    /// The committed manifest.
    pub fn manifest(&self) -> Arc<Manifest> {
        lock(&self.shared).manifest.clone()
    }

    /// Every lsn up to this one is committed (None: nothing yet).
    pub fn flushed_lsn(&self) -> Option<u64> {
        lock(&self.shared).manifest.flushed_lsn
    }

    /// A handle for readers (queries) in this process.
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            dir: Arc::from(self.dir.as_path()),
            shared: self.shared.clone(),
        }
    }

    /// Makes accepted rows visible to snapshots before they are written (rows already
    /// committed are ignored). Every row pushed must later be passed to [`ParquetStore::write`]
    /// or covered by its `through_lsn`, which removes it from the tail.
    pub fn push_tail(&mut self, rows: &[EventRow]) {
        lock(&self.shared).push_tail(rows);
    }

    /// Rows in the tail (accepted, not yet committed).
    pub fn tail_len(&self) -> usize {
        lock(&self.shared).tail_len()
    }

    /// Every committed row with an lsn after `after` (all when None), in lsn order, a day at a
    /// time.
    pub fn read_rows_after(&self, after: Option<u64>) -> StoredRows {
        StoredRows::new(self.dir.clone(), self.manifest(), after)
    }

    /// Writes `rows` and commits them with `flushed_lsn = through_lsn`: every log record up to
    /// `through_lsn` is then stored (records without a row, like non-dispatch frames, count
    /// too). Rows at or below the committed `flushed_lsn` are skipped, so retrying a write
    /// that crashed before its commit stores nothing twice. Each (day, bucket) partition gets
    /// one new file, sorted by (guild, ts, lsn).
    pub fn write(&mut self, rows: Vec<EventRow>, through_lsn: u64) -> Result<CommitInfo> {
        self.collect_garbage();
        let current = self.manifest();
        let flushed = current.flushed_lsn;
        let total = rows.len() as u64;
        let rows: Vec<EventRow> = rows
            .into_iter()
            .filter(|r| flushed.is_none_or(|f| r.lsn > f))
            .collect();
        let skipped_rows = total - rows.len() as u64;
        if let Some(r) = rows.iter().find(|r| r.lsn > through_lsn) {
            return Err(ParquetStoreError::LsnPastCommit {
                lsn: r.lsn,
                through_lsn,
            });
        }
        let new_flushed = Some(flushed.map_or(through_lsn, |f| f.max(through_lsn)));
        if rows.is_empty() && new_flushed == flushed {
            return Ok(CommitInfo {
                skipped_rows,
                flushed_lsn: flushed,
                ..CommitInfo::default()
            });
        }
        let mut partitions: BTreeMap<(i64, Option<u32>), Vec<EventRow>> = BTreeMap::new();
        for row in rows {
            let key = (
                day_of(row.ts),
                bucket_of(row.guild_id, current.guild_buckets),
            );
            partitions.entry(key).or_default().push(row);
        }
        let mut written = Vec::with_capacity(partitions.len());
        let result = self.write_partitions(partitions, &mut written);
        let info = CommitInfo {
            files: written.len(),
            rows: written.iter().map(|f| f.rows).sum(),
            bytes: written.iter().map(|f| f.bytes).sum(),
            skipped_rows,
            flushed_lsn: new_flushed,
            committed: true,
        };
        let committed = result.and_then(|()| {
            let mut next = (*current).clone();
            next.files.extend(written.iter().cloned());
            next.flushed_lsn = new_flushed;
            self.commit(current, next, Vec::new())
        });
        if let Err(e) = committed {
            // Not committed: the files are garbage. Removing them now rather than at the next
            // open keeps a full disk from filling further on retries.
            self.remove_files(written.iter().map(|f| f.path.clone()));
            return Err(e);
        }
        Ok(info)
    }

    /// Writes one file per partition, on up to one thread per core: encoding and zstd are
    /// the cost of a write, and partitions are independent. Every file written is pushed to
    /// `written`, even when another fails, so the caller can remove them all.
    fn write_partitions(
        &self,
        partitions: BTreeMap<(i64, Option<u32>), Vec<EventRow>>,
        written: &mut Vec<FileEntry>,
    ) -> Result<()> {
        let mut jobs = Vec::with_capacity(partitions.len());
        let mut dirs = BTreeSet::new();
        for ((day, bucket), rows) in partitions {
            let part_dir = partition_dir(day, bucket);
            create_dirs_durably(&self.dir, &part_dir)?;
            let first = rows.iter().map(|r| r.lsn).min().unwrap_or_default();
            let last = rows.iter().map(|r| r.lsn).max().unwrap_or_default();
            jobs.push((
                bucket,
                rel_path(&part_dir, &part_file_name(first, last)),
                rows,
            ));
            dirs.insert(part_dir);
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, jobs.len().max(1));
        let queue = Mutex::new(jobs.into_iter());
        let results = Mutex::new(Vec::new());
        let encoding = self.encoding();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let job = lock_plain(&queue).next();
                    let Some((bucket, rel, mut rows)) = job else {
                        break;
                    };
                    sort_for_file(&mut rows);
                    let result = write_events_file(&self.dir, &rel, bucket, &rows, encoding);
                    lock_plain(&results).push(result);
                });
            }
        });
        let mut first_error = None;
        for result in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
            match result {
                Ok(entry) => written.push(entry),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        // The renames must be durable before the manifest that lists them is.
        for dir in dirs {
            sync_dir(&self.dir.join(dir))?;
        }
        Ok(())
    }

    pub(super) fn encoding(&self) -> Encoding {
        Encoding {
            row_group_rows: self.config.row_group_rows,
            zstd_level: self.config.zstd_level,
        }
    }

    /// Commits `next` (generation bumped, files re-sorted): durably replaces the manifest,
    /// then publishes it to readers and drops the tail rows it covers under one lock. Files in
    /// `obsolete` are deleted once no snapshot can still read them.
    /// `current` is the caller's handle on the manifest being replaced, given up here so that
    /// it does not count as a reader of the obsolete files.
    pub(super) fn commit(
        &mut self,
        current: Arc<Manifest>,
        mut next: Manifest,
        obsolete: Vec<String>,
    ) -> Result<()> {
        next.generation = current.generation + 1;
        drop(current);
        next.sort_files();
        next.save(&self.dir)?;
        let replaced = lock(&self.shared).commit(Arc::new(next));
        self.retired.push_back(Retired {
            manifest: replaced,
            obsolete,
        });
        self.collect_garbage();
        Ok(())
    }

    /// Deletes the files of replaced manifests that no snapshot holds any more; returns how
    /// many files went. Called by every write, compaction and retention.
    pub fn collect_garbage(&mut self) -> usize {
        let mut deleted = 0;
        while let Some(front) = self.retired.front() {
            // Only `self.retired` holds it: no snapshot or replay can open its files.
            if Arc::strong_count(&front.manifest) > 1 {
                break;
            }
            if let Some(retired) = self.retired.pop_front() {
                deleted += self.remove_files(retired.obsolete.into_iter());
            }
        }
        deleted
    }

    /// Best-effort deletion of files and of the partition directories they leave empty (a
    /// failure only leaves garbage that the next open removes).
    fn remove_files(&self, rel_paths: impl Iterator<Item = String>) -> usize {
        let mut removed = 0;
        for rel in rel_paths {
            let path = self.dir.join(&rel);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "could not delete events file")
                }
            }
            // remove_dir only succeeds on an empty directory, which is what we want.
            let bucket_dir = path.parent();
            if let Some(bucket_dir) = bucket_dir {
                if fs::remove_dir(bucket_dir).is_ok() {
                    if let Some(day_dir) = bucket_dir.parent() {
                        let _ = fs::remove_dir(day_dir);
                    }
                }
            }
        }
        removed
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (a queue, a list).
fn lock_plain<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// File order: (guild, ts, lsn), rows without a guild first (they are alone in their bucket).
pub(super) fn sort_for_file(rows: &mut [EventRow]) {
    rows.sort_unstable_by_key(|r| (r.guild_id, r.ts, r.lsn));
}

/// `/`-separated relative path, the same on every platform (it is stored in the manifest).
pub(super) fn rel_path(part_dir: &Path, file: &str) -> String {
    let mut parts: Vec<String> = part_dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.push(file.to_owned());
    parts.join("/")
}

/// Deletes what a crash left: temp files, and parts the manifest does not list. Files that are
/// not ours (other names) are left alone and logged, so a mistyped directory loses nothing.
fn remove_leftovers(dir: &Path, manifest: &Manifest) -> Result<OpenReport> {
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut report = OpenReport::default();
    let mut seen = BTreeSet::new();
    for day in read_dir(dir)? {
        let day_name = file_name(&day);
        if day.is_file() && day_name.ends_with(TEMP_SUFFIX) && day_name.starts_with(MANIFEST_FILE) {
            remove_leftover(&day, &mut report)?;
            continue;
        }
        if !day.is_dir() || !day_name.starts_with("day=") {
            if day_name != MANIFEST_FILE {
                tracing::warn!(path = %day.display(), "unexpected entry in the events directory, left alone");
            }
            continue;
        }
        for bucket in read_dir(&day)? {
            let bucket_name = file_name(&bucket);
            if !bucket.is_dir() || !bucket_name.starts_with("bucket=") {
                tracing::warn!(path = %bucket.display(), "unexpected entry in the events directory, left alone");
                continue;
            }
            for file in read_dir(&bucket)? {
                let name = file_name(&file);
                let rel = format!("{day_name}/{bucket_name}/{name}");
                if listed.contains(rel.as_str()) {
                    seen.insert(rel);
                } else if name.ends_with(TEMP_SUFFIX)
                    || (name.starts_with("part-") && name.ends_with(".parquet"))
                {
                    remove_leftover(&file, &mut report)?;
                } else {
                    tracing::warn!(path = %file.display(), "unexpected file in the events directory, left alone");
                }
            }
            let _ = fs::remove_dir(&bucket);
        }
        let _ = fs::remove_dir(&day);
    }
    report.missing_files = listed
        .into_iter()
        .filter(|p| !seen.contains(*p))
        .map(str::to_owned)
        .collect();
    Ok(report)
}

fn remove_leftover(path: &Path, report: &mut OpenReport) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            report.leftovers_removed += 1;
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path)(e)),
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        entries.push(entry.map_err(io_error(dir))?.path());
    }
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
