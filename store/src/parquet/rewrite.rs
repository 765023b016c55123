//! Rewriting committed files without some of their rows (erasing a member's events): the
//! same write protocol as compaction — new files under new names, durable before the
//! manifest that swaps them in, replaced files deleted after — so a crash at any point leaves
//! the old committed state or the new one.

use super::files::{read_events_file, sync_dir, write_events_file};
use super::layout::part_file_name;
use super::manifest::FileEntry;
use super::writer::{rel_path, sort_for_file, ParquetStore};
use super::Result;
use crate::row::EventRow;
use std::collections::BTreeSet;
use std::path::Path;

/// What one [`ParquetStore::rewrite_files`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewriteReport {
    /// Files read.
    pub files_read: usize,
    /// Files replaced by a file holding the rows kept.
    pub files_rewritten: usize,
    /// Files dropped because no row of theirs was kept.
    pub files_removed: usize,
    /// Rows removed.
    pub rows_removed: u64,
    /// Whether a new manifest was committed (false when no row was removed).
    pub committed: bool,
}

impl ParquetStore {
    /// Every row of a committed file, in file order.
    pub fn read_file(&self, file: &FileEntry) -> Result<Vec<EventRow>> {
        read_events_file(&file.path_in(&self.dir))
    }

    /// Rewrites the committed `files` (entries of the current manifest; others are ignored)
    /// keeping only the rows `keep` accepts, and commits all of them in one manifest. A file
    /// losing no row is left as it is; a file losing every row is dropped. New files get new
    /// names, so until the commit every committed file is still there and readable; an error
    /// before the commit removes what was written and leaves the committed state as it was.
    pub fn rewrite_files(
        &mut self,
        files: &[FileEntry],
        mut keep: impl FnMut(&EventRow) -> bool,
    ) -> Result<RewriteReport> {
        self.collect_garbage();
        let current = self.manifest();
        let listed: BTreeSet<String> = current.files.iter().map(|f| f.path.clone()).collect();
        let mut report = RewriteReport::default();
        let mut written: Vec<FileEntry> = Vec::new();
        let mut replaced: Vec<String> = Vec::new();
        let mut dirs = BTreeSet::new();
        let result = (|| -> Result<()> {
            for file in files.iter().filter(|f| listed.contains(&f.path)) {
                report.files_read += 1;
                let rows = read_events_file(&file.path_in(&self.dir))?;
                let before = rows.len() as u64;
                let mut rows: Vec<EventRow> = rows.into_iter().filter(|r| keep(r)).collect();
                let removed = before - rows.len() as u64;
                if removed == 0 {
                    continue;
                }
                report.rows_removed += removed;
                replaced.push(file.path.clone());
                if rows.is_empty() {
                    report.files_removed += 1;
                    continue;
                }
                sort_for_file(&mut rows);
                let first = rows.iter().map(|r| r.lsn).min().unwrap_or_default();
                let last = rows.iter().map(|r| r.lsn).max().unwrap_or_default();
                let part_dir = Path::new(&file.path)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .to_path_buf();
                let mut rel = rel_path(&part_dir, &part_file_name(first, last));
                if listed.contains(&rel) {
                    // Usually the file being replaced itself (its first and last rows kept):
                    // it must stay readable until the commit, so the new one gets the
                    // generation it is committed in, which no listed file can carry.
                    let generation = current.generation + 1;
                    rel = rel.replace(".parquet", &format!("-e{generation}.parquet"));
                }
                let entry =
                    write_events_file(&self.dir, &rel, file.bucket, &rows, self.encoding())?;
                written.push(entry);
                dirs.insert(part_dir);
                report.files_rewritten += 1;
            }
            // The renames must be durable before the manifest that lists them is.
            for dir in &dirs {
                sync_dir(&self.dir.join(dir))?;
            }
            Ok(())
        })();
        if replaced.is_empty() {
            return result.map(|()| report);
        }
        let committed = result.and_then(|()| {
            let gone: BTreeSet<&str> = replaced.iter().map(String::as_str).collect();
            let mut next = (*current).clone();
            next.files.retain(|f| !gone.contains(f.path.as_str()));
            next.files.extend(written.iter().cloned());
            self.commit(current, next, replaced.clone())
        });
        if let Err(e) = committed {
            for file in &written {
                let _ = std::fs::remove_file(file.path_in(&self.dir));
            }
            return Err(e);
        }
        report.committed = true;
        Ok(report)
    }
}
