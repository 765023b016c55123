//! Where the sink task reads what it missed: the write-ahead log, turned into rows by the
//! caller (decoding frames into events lives outside the store).

use crate::row::EventRow;
use crate::wal::Wal;
use guildflow_model::RawFrame;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Rows of a run of log records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatchUpChunk {
    /// The rows of the records read, in LSN order (records without a row are simply absent).
    pub rows: Vec<EventRow>,
    /// One past the last record read; the `from` asked for when the log has nothing there.
    pub end: u64,
}

/// A source of log records for catching up. Called on a blocking thread.
pub trait CatchUpSource: Send + 'static {
    /// The rows of at most `max_records` log records from `from` on.
    fn read(&mut self, from: u64, max_records: usize) -> Result<CatchUpChunk, String>;
}

impl<F> CatchUpSource for F
where
    F: FnMut(u64, usize) -> Result<CatchUpChunk, String> + Send + 'static,
{
    fn read(&mut self, from: u64, max_records: usize) -> Result<CatchUpChunk, String> {
        self(from, max_records)
    }
}

/// Catches up from a [`Wal`] shared with ingestion, converting records with `to_row` (what the
/// binary's decoder does live: `EventRow::new(lsn, raw, &event, session)`, or `None` for a
/// frame that is not an event).
///
/// [`Wal::read_from`] reads everything after `from` while holding the log's lock, so this keeps
/// the read tail and serves the following chunks from it; ingestion waits on the lock for one
/// read per catch-up, not one per chunk.
pub struct WalCatchUp<F> {
    wal: Arc<Mutex<Wal>>,
    to_row: F,
    tail: VecDeque<(u64, RawFrame)>,
}

impl<F> WalCatchUp<F>
where
    F: FnMut(u64, &RawFrame) -> Option<EventRow> + Send + 'static,
{
    /// A source reading `wal` and converting with `to_row`.
    pub fn new(wal: Arc<Mutex<Wal>>, to_row: F) -> WalCatchUp<F> {
        WalCatchUp {
            wal,
            to_row,
            tail: VecDeque::new(),
        }
    }
}

impl<F> CatchUpSource for WalCatchUp<F>
where
    F: FnMut(u64, &RawFrame) -> Option<EventRow> + Send + 'static,
{
    fn read(&mut self, from: u64, max_records: usize) -> Result<CatchUpChunk, String> {
        while self.tail.front().is_some_and(|(lsn, _)| *lsn < from) {
            self.tail.pop_front();
        }
        // A cached tail that starts after `from` may just be stale: read again.
        if self.tail.front().is_none_or(|(lsn, _)| *lsn > from) {
            // A panic elsewhere while holding the lock leaves the log's files as they were
            // (the store reads them the same way); catching up must go on.
            let mut wal = self
                .wal
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.tail = wal.read_from(from).map_err(|e| e.to_string())?.into();
        }
        let mut chunk = CatchUpChunk {
            rows: Vec::new(),
            end: from,
        };
        for _ in 0..max_records.max(1) {
            let Some((lsn, raw)) = self.tail.pop_front() else {
                break;
            };
            if let Some(row) = (self.to_row)(lsn, &raw) {
                chunk.rows.push(row);
            }
            chunk.end = lsn + 1;
        }
        Ok(chunk)
    }
}
