//! The Parquet flusher: a thread that owns the [`ParquetStore`] writer. Ingestion hands it
//! rows already durable in the write-ahead log; it makes them visible to readers at once
//! (the store's tail), writes them to Parquet files every [`FlushPolicy::interval`] or
//! [`FlushPolicy::rows`], and compacts and applies retention now and then. The log may drop
//! records once [`ParquetFlusher::flushed`] covers them.

use crate::parquet::{ParquetStore, StoreReader};
use crate::row::EventRow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When rows become files.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    /// Longest a row waits in memory (it is durable in the log meanwhile).
    pub interval: Duration,
    /// Rows that trigger a flush before the interval.
    pub rows: usize,
    /// How often small files are compacted and retention applied.
    pub maintenance: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            interval: Duration::from_secs(2),
            rows: 256 * 1024,
            maintenance: Duration::from_secs(600),
        }
    }
}

enum Command {
    Rows(Vec<EventRow>, u64),
    Flush(SyncSender<()>),
    /// Flush, then hand the store over until it comes back (an erasure rewrites its files).
    Lend(SyncSender<ParquetStore>, Receiver<ParquetStore>),
}

/// No lsn flushed yet.
const NONE: u64 = u64::MAX;

/// Handle on the flusher thread.
pub struct ParquetFlusher {
    tx: Option<SyncSender<Command>>,
    flushed: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    /// The last write failed (its rows wait in memory for the next one; the log has them).
    failing: Arc<AtomicBool>,
    started: Instant,
    /// Milliseconds after `started` of the last commit.
    last_commit: Arc<AtomicU64>,
    reader: StoreReader,
    thread: Option<JoinHandle<()>>,
}

impl ParquetFlusher {
    /// Starts the thread on an opened store.
    pub fn start(store: ParquetStore, policy: FlushPolicy) -> ParquetFlusher {
        let flushed = Arc::new(AtomicU64::new(store.flushed_lsn().unwrap_or(NONE)));
        let errors = Arc::new(AtomicU64::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let last_commit = Arc::new(AtomicU64::new(0));
        let reader = store.reader();
        // Bounded: if Parquet falls behind, ingestion waits (and the shards pause) instead of
        // buffering without limit; the rows are safe in the log either way.
        let (tx, rx) = sync_channel(64);
        let thread = {
            let (flushed, errors, failing) = (flushed.clone(), errors.clone(), failing.clone());
            let last_commit = last_commit.clone();
            std::thread::Builder::new()
                .name("parquet-flusher".into())
                .spawn(move || {
                    let committed = || {
                        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        last_commit.store(ms, Ordering::Relaxed);
                    };
                    flush_loop(store, policy, rx, &flushed, &errors, &failing, &committed)
                })
                .ok()
        };
        ParquetFlusher {
            tx: Some(tx),
            flushed,
            errors,
            failing,
            started,
            last_commit,
            reader,
            thread,
        }
    }

    /// Hands over `rows` and declares every log record up to `through_lsn` handed over.
    pub fn send(&self, rows: Vec<EventRow>, through_lsn: u64) {
        if let Some(tx) = &self.tx {
            if tx.send(Command::Rows(rows, through_lsn)).is_err() {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes everything handed over so far and waits for the commit.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = sync_channel(1);
            if tx.send(Command::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }

    /// Runs `f` on the store on this thread, after writing everything handed over so far; the
    /// flusher waits meanwhile. None if the flusher thread is gone.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut ParquetStore) -> T) -> Option<T> {
        let tx = self.tx.as_ref()?;
        let (lend, lent) = sync_channel(1);
        let (give_back, back) = sync_channel(1);
        tx.send(Command::Lend(lend, back)).ok()?;
        let mut store = lent.recv().ok()?;
        // The store goes back even if `f` panics, so flushing goes on.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut store)));
        let _ = give_back.send(store);
        out.ok()
    }

    /// Every log record up to this lsn is in committed Parquet files.
    pub fn flushed(&self) -> Option<u64> {
        match self.flushed.load(Ordering::Acquire) {
            NONE => None,
            lsn => Some(lsn),
        }
    }

    /// Seconds since the last commit.
    pub fn since_commit(&self) -> f64 {
        let at = Duration::from_millis(self.last_commit.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(at).as_secs_f64()
    }

    /// Whether the last write failed.
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Failed writes so far (each is retried with the next flush).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The readers' handle.
    pub fn reader(&self) -> StoreReader {
        self.reader.clone()
    }
}

impl Drop for ParquetFlusher {
    fn drop(&mut self) {
        self.flush();
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Retention's clock: the newest event time stored, capped by the wall clock. Event time,
/// not the wall clock alone, so a capture from months ago replayed today keeps its last 30
/// days instead of being deleted as it is written; capped, so one frame stamped in the future
/// cannot expire everything.
fn retention_now(newest_ts: Option<i64>) -> Option<i64> {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    newest_ts.map(|ts| ts.min(wall))
}

fn flush_loop(
    mut store: ParquetStore,
    policy: FlushPolicy,
    rx: Receiver<Command>,
    flushed: &AtomicU64,
    errors: &AtomicU64,
    failing: &AtomicBool,
    committed: &dyn Fn(),
) {
    let mut pending: Vec<EventRow> = Vec::new();
    let mut newest_ts = store.manifest().files.iter().map(|f| f.max_ts).max();
    let mut through: Option<u64> = None;
    let mut last_flush = Instant::now();
    // First maintenance soon after start: a crash may have left small files behind.
    let mut last_maintenance = Instant::now() - policy.maintenance + Duration::from_secs(5);
    let flush = |store: &mut ParquetStore, pending: &mut Vec<EventRow>, through: u64| {
        let rows = std::mem::take(pending);
        let count = rows.len();
        match store.write(rows, through) {
            Ok(info) => {
                if let Some(lsn) = info.flushed_lsn {
                    flushed.store(lsn, Ordering::Release);
                }
                failing.store(false, Ordering::Relaxed);
                committed();
            }
            Err(e) => {
                errors.fetch_add(1, Ordering::Relaxed);
                failing.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, rows = count, "parquet flush failed; retrying with the next one");
                // Nothing was committed, so the store's tail (rows accepted, not in a file)
                // still holds exactly these rows: take them back from it rather than keeping a
                // copy of every flush in case one fails.
                let tail = store.reader().snapshot().tail;
                *pending = tail.iter().cloned().collect();
            }
        }
    };
    loop {
        let wait = policy.interval.saturating_sub(last_flush.elapsed());
        let command = match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut ack = None;
        match command {
            Some(Command::Rows(rows, lsn)) => {
                store.push_tail(&rows);
                let batch_newest = rows.iter().map(|r| r.ts).max();
                newest_ts = newest_ts.max(batch_newest);
                pending.extend(rows);
                through = Some(through.map_or(lsn, |t| t.max(lsn)));
            }
            Some(Command::Flush(done)) => ack = Some(done),
            Some(Command::Lend(lend, back)) => {
                if let Some(lsn) = through {
                    if !pending.is_empty() {
                        flush(&mut store, &mut pending, lsn);
                    }
                }
                if lend.send(store).is_err() {
                    return;
                }
                store = match back.recv() {
                    Ok(store) => store,
                    Err(_) => return,
                };
                continue;
            }
            None => {}
        }
        let due = ack.is_some()
            || pending.len() >= policy.rows
            || last_flush.elapsed() >= policy.interval;
        if due {
            if let Some(lsn) = through {
                if !pending.is_empty() || store.flushed_lsn() != Some(lsn) {
                    flush(&mut store, &mut pending, lsn);
                }
            }
            last_flush = Instant::now();
        }
        if let Some(done) = ack {
            let _ = done.send(());
        }
        if last_maintenance.elapsed() >= policy.maintenance {
            last_maintenance = Instant::now();
            match store.compact() {
                Ok(report) => tracing::debug!(?report, "parquet compaction"),
                Err(e) => tracing::warn!(error = %e, "parquet compaction failed"),
            }
            if let Some(now) = retention_now(newest_ts) {
                match store.apply_retention(now) {
                    Ok(report) => tracing::debug!(?report, "parquet retention"),
                    Err(e) => tracing::warn!(error = %e, "parquet retention failed"),
                }
            }
        }
    }
    if let Some(lsn) = through {
        if !pending.is_empty() {
            flush(&mut store, &mut pending, lsn);
        }
    }
}
