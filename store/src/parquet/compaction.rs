//! Compaction (many small flushes of a partition merged into one sorted file) and retention
//! (whole day partitions dropped past the retention period). Both commit a new manifest first
//! and delete the replaced files after, so a crash in between leaves only unlisted files,
//! which the next open removes.

use super::files::{create_dirs_durably, read_events_file, sync_dir, write_events_file};
use super::layout::{day_of, part_file_name, MS_PER_DAY};
use super::manifest::FileEntry;
use super::writer::{rel_path, sort_for_file, ParquetStore};
use super::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What one [`ParquetStore::compact`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Partitions that had files merged.
    pub partitions: usize,
    /// Small files merged (and deleted once unread).
    pub files_merged: usize,
    /// Merged files written.
    pub files_written: usize,
    /// Rows rewritten.
    pub rows: u64,
    /// Bytes of the merged files before.
    pub bytes_before: u64,
    /// Bytes of the files written.
    pub bytes_after: u64,
}

/// What one [`ParquetStore::apply_retention`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Day partitions dropped.
    pub days_dropped: usize,
    /// Files dropped.
    pub files_dropped: usize,
    /// Rows dropped.
    pub rows_dropped: u64,
    /// Bytes dropped.
    pub bytes_dropped: u64,
}

impl ParquetStore {
    /// Merges, per (day, bucket) partition, runs of consecutive small files (fewer than
    /// `compact_below_rows` rows, runs of at least `compact_min_files`, at most
    /// `compact_max_rows` rows) into one file sorted by (guild, ts, lsn). Files stay disjoint
    /// in lsn: a run never spans a large file.
    pub fn compact(&mut self) -> Result<CompactionReport> {
        self.collect_garbage();
        let current = self.manifest();
        let groups = self.plan_compaction(&current.files);
        let mut report = CompactionReport::default();
        if groups.is_empty() {
            return Ok(report);
        }
        let mut written: Vec<FileEntry> = Vec::new();
        let mut merged: Vec<String> = Vec::new();
        let mut partitions = BTreeSet::new();
        let listed: BTreeSet<String> = current.files.iter().map(|f| f.path.clone()).collect();
        let result = (|| -> Result<()> {
            for group in &groups {
                let mut rows = Vec::new();
                for file in group {
                    rows.extend(read_events_file(&file.path_in(&self.dir))?);
                }
                sort_for_file(&mut rows);
                let first = group.iter().map(|f| f.min_lsn).min().unwrap_or_default();
                let last = group.iter().map(|f| f.max_lsn).max().unwrap_or_default();
                let part_dir = Path::new(&group[0].path)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                let mut rel = rel_path(&part_dir, &part_file_name(first, last));
                if listed.contains(&rel) {
                    // Only reachable if the compaction settings changed between runs; a
                    // distinct name keeps the file being replaced readable until its turn.
                    rel = rel.replace(".parquet", &format!("-g{}.parquet", current.generation));
                }
                create_dirs_durably(&self.dir, &part_dir)?;
                let entry =
                    write_events_file(&self.dir, &rel, group[0].bucket, &rows, self.encoding())?;
                sync_dir(&self.dir.join(&part_dir))?;
                partitions.insert((group[0].day.clone(), group[0].bucket));
                report.files_merged += group.len();
                report.rows += entry.rows;
                report.bytes_before += group.iter().map(|f| f.bytes).sum::<u64>();
                report.bytes_after += entry.bytes;
                merged.extend(group.iter().map(|f| f.path.clone()));
                written.push(entry);
            }
            Ok(())
        })();
        let committed = result.and_then(|()| {
            let gone: BTreeSet<&str> = merged.iter().map(String::as_str).collect();
            let mut next = (*current).clone();
            next.files.retain(|f| !gone.contains(f.path.as_str()));
            next.files.extend(written.iter().cloned());
            self.commit(current, next, merged.clone())
        });
        if let Err(e) = committed {
            for file in &written {
                let _ = std::fs::remove_file(file.path_in(&self.dir));
            }
            return Err(e);
        }
        report.partitions = partitions.len();
        report.files_written = written.len();
        Ok(report)
    }

    fn plan_compaction(&self, files: &[FileEntry]) -> Vec<Vec<FileEntry>> {
        let mut by_partition: BTreeMap<(&str, Option<u32>), Vec<&FileEntry>> = BTreeMap::new();
        for file in files {
            by_partition
                .entry((file.day.as_str(), file.bucket))
                .or_default()
                .push(file);
        }
        let min_files = self.config.compact_min_files.max(2);
        let mut groups = Vec::new();
        for (_, mut partition) in by_partition {
            partition.sort_by_key(|f| f.min_lsn);
            let mut run: Vec<FileEntry> = Vec::new();
            let mut run_rows = 0;
            let mut close = |run: &mut Vec<FileEntry>, run_rows: &mut u64| {
                if run.len() >= min_files {
                    groups.push(std::mem::take(run));
                }
                run.clear();
                *run_rows = 0;
            };
            for file in partition {
                let small = file.rows < self.config.compact_below_rows;
                if !small || run_rows + file.rows > self.config.compact_max_rows {
                    close(&mut run, &mut run_rows);
                }
                if small {
                    run_rows += file.rows;
                    run.push(file.clone());
                }
            }
            close(&mut run, &mut run_rows);
        }
        groups
    }

    /// Drops every day partition whose whole day ended more than `retention_days` before
    /// `now_ms` (nothing when retention is off). `flushed_lsn` stays: the dropped rows remain
    /// "stored", they are just expired.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<RetentionReport> {
        self.collect_garbage();
        let mut report = RetentionReport::default();
        let Some(days) = self.config.retention_days else {
            return Ok(report);
        };
        let cutoff_day = day_of(now_ms.saturating_sub(i64::from(days) * MS_PER_DAY));
        let current = self.manifest();
        let (expired, kept): (Vec<&FileEntry>, Vec<&FileEntry>) = current
            .files
            .iter()
            .partition(|f| day_of(f.min_ts) < cutoff_day);
        if expired.is_empty() {
            return Ok(report);
        }
        report.days_dropped = expired
            .iter()
            .map(|f| f.day.as_str())
            .collect::<BTreeSet<_>>()
            .len();
        report.files_dropped = expired.len();
        report.rows_dropped = expired.iter().map(|f| f.rows).sum();
        report.bytes_dropped = expired.iter().map(|f| f.bytes).sum();
        let obsolete = expired.iter().map(|f| f.path.clone()).collect();
        let mut next = (*current).clone();
        next.files = kept.into_iter().cloned().collect();
        self.commit(current, next, obsolete)?;
        Ok(report)
    }
}
