//! Erasing records from the log in place of their frames, for privacy requests
//! (`crate::erase`). A record is never removed: it is replaced by a tombstone record, so
//! every LSN stays what it was — the LSN of a record is its position in the log, and it is
//! carried by the Parquet and PostgreSQL rows that made the sinks idempotent.

use super::segment;
use super::{io_error, sync_dir, Lsn, Wal, WalError};
use guildflow_model::RawFrame;
use std::io::BufWriter;

/// What [`Wal::erase_records`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalErasure {
    /// Records replaced by tombstones.
    pub records: u64,
    /// Segment files rewritten.
    pub segments: usize,
    /// Temp files of an earlier, interrupted erasure that were deleted.
    pub stale_temps_removed: usize,
}

impl Wal {
    /// Calls `f` with every valid record from `from` on, in order, holding one segment in
    /// memory at a time (unlike [`Wal::read_from`], which returns them all).
    pub fn for_each(
        &mut self,
        from: Lsn,
        mut f: impl FnMut(Lsn, &RawFrame),
    ) -> Result<(), WalError> {
        self.sync()?;
        let mut records = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            let next_first = self.segments.get(i + 1).map(|s| s.first_lsn);
            if next_first.is_some_and(|n| n <= from) {
                continue;
            }
            records.clear();
            seg.read(from, &mut records).map_err(io_error(&seg.path))?;
            for (lsn, frame) in &records {
                f(*lsn, frame);
            }
        }
        Ok(())
    }

    /// Replaces every record whose frame `erase` selects by a tombstone: a valid record that
    /// is not a frame, so readers skip it and every LSN is unchanged. Each segment holding
    /// such a record is rewritten to a temp file, fsynced and renamed over the old one (then
    /// the directory is fsynced), so a crash leaves each segment either old or new; running
    /// the erasure again finishes it. Segments without such a record are not touched.
    pub fn erase_records(
        &mut self,
        mut erase: impl FnMut(Lsn, &RawFrame) -> bool,
    ) -> Result<WalErasure, WalError> {
        // Buffered appends must be in the file before it is read and replaced.
        self.sync()?;
        let mut report = WalErasure {
            stale_temps_removed: segment::remove_temps(&self.dir).map_err(io_error(&self.dir))?,
            ..WalErasure::default()
        };
        let last = self.segments.len().saturating_sub(1);
        let mut last_rewritten = false;
        for (i, seg) in self.segments.iter().enumerate() {
            let erased = seg.erase(&mut erase).map_err(io_error(&seg.path))?;
            if erased > 0 {
                sync_dir(&self.dir)?;
                report.records += erased;
                report.segments += 1;
                last_rewritten |= i == last;
            }
        }
        if last_rewritten {
            // The append handle still points at the replaced file.
            self.reopen_writer()?;
        }
        Ok(report)
    }

    fn reopen_writer(&mut self) -> Result<(), WalError> {
        let Some(seg) = self.segments.last() else {
            return Ok(());
        };
        let (file, written) = seg.append_handle().map_err(io_error(&seg.path))?;
        self.writer = BufWriter::with_capacity(1 << 20, file);
        self.written = written;
        Ok(())
    }
}
