//! Reading every stored row back in lsn order, to rebuild the views at start.
//!
//! Files are partitioned by event day, not by lsn, and a row received just before midnight can
//! follow in the log one received just after (shards interleave). So days are read in order
//! and a row is handed out only once no later day can hold a smaller lsn (each file's min_lsn
//! is in the manifest): the output is exactly lsn-ordered, and memory holds one day plus the
//! few rows that straddle midnight out of order.

use super::files::read_events_file;
use super::manifest::Manifest;
use super::Result;
use crate::row::EventRow;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Iterator over stored rows in lsn order, yielding one chunk (about a day) at a time. It
/// holds its manifest, so the files it reads are not deleted under it.
#[derive(Debug)]
pub struct StoredRows {
    dir: PathBuf,
    manifest: Arc<Manifest>,
    after: Option<u64>,
    /// Ranges of `manifest.files` holding one day each, ascending.
    days: Vec<Range<usize>>,
    /// `later_min_lsn[k]`: smallest lsn in days `k..`; u64::MAX past the last.
    later_min_lsn: Vec<u64>,
    next_day: usize,
    /// Rows read but not yet handed out, lsn-ordered.
    pending: Vec<EventRow>,
    failed: bool,
}

impl StoredRows {
    pub(crate) fn new(dir: PathBuf, manifest: Arc<Manifest>, after: Option<u64>) -> StoredRows {
        let wanted = |i: usize| after.is_none_or(|a| manifest.files[i].max_lsn > a);
        let mut days: Vec<Range<usize>> = Vec::new();
        for i in 0..manifest.files.len() {
            match days.last_mut() {
                Some(day) if manifest.files[day.start].day == manifest.files[i].day => {
                    day.end = i + 1
                }
                _ => days.push(i..i + 1),
            }
        }
        days.retain(|day| day.clone().any(wanted));
        let mut later_min_lsn = vec![u64::MAX; days.len() + 1];
        for (k, day) in days.iter().enumerate().rev() {
            let day_min = day
                .clone()
                .filter(|&i| wanted(i))
                .map(|i| manifest.files[i].min_lsn)
                .min()
                .unwrap_or(u64::MAX);
            later_min_lsn[k] = day_min.min(later_min_lsn[k + 1]);
        }
        StoredRows {
            dir,
            manifest,
            after,
            days,
            later_min_lsn,
            next_day: 0,
            pending: Vec::new(),
            failed: false,
        }
    }

    fn read_day(&mut self, k: usize) -> Result<()> {
        let Some(range) = self.days.get(k).cloned() else {
            return Ok(());
        };
        for file in &self.manifest.files[range] {
            if self.after.is_some_and(|a| file.max_lsn <= a) {
                continue;
            }
            let rows = read_events_file(&file.path_in(&self.dir))?;
            let after = self.after;
            self.pending
                .extend(rows.into_iter().filter(|r| after.is_none_or(|a| r.lsn > a)));
        }
        // Stable sort: mostly-sorted runs (each file, the carried-over rows) merge cheaply.
        self.pending.sort_by_key(|r| r.lsn);
        Ok(())
    }
}

impl Iterator for StoredRows {
    type Item = Result<Vec<EventRow>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        while self.next_day < self.days.len() {
            let k = self.next_day;
            self.next_day += 1;
            if let Err(e) = self.read_day(k) {
                self.failed = true;
                return Some(Err(e));
            }
            let bound = self.later_min_lsn[k + 1];
            let ready = self.pending.partition_point(|r| r.lsn < bound);
            if ready > 0 {
                let rest = self.pending.split_off(ready);
                return Some(Ok(std::mem::replace(&mut self.pending, rest)));
            }
        }
        (!self.pending.is_empty()).then(|| Ok(std::mem::take(&mut self.pending)))
    }
}
