//! The sink task's state, shared with `/metrics` and `/health` without locks on the hot path.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A snapshot of the sink's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SinkStatus {
    /// Whether the task holds a working connection.
    pub connected: bool,
    /// Every log record below this LSN is stored in PostgreSQL (or was rejected).
    pub stored_lsn: u64,
    /// One past the highest LSN ingestion offered.
    pub offered_lsn: u64,
    /// Log records offered but not yet stored (`offered_lsn - stored_lsn`; records without an
    /// event row count too).
    pub lag_rows: u64,
    /// Event time of the newest offered row minus that of the newest stored row, in seconds:
    /// how stale PostgreSQL is. 0 when nothing is pending.
    pub lag_seconds: f64,
    /// Failures so far (connect, write, catch-up, maintenance).
    pub errors: u64,
    /// The latest failure.
    pub last_error: Option<String>,
    /// Rows inserted into `events`.
    pub rows_written: u64,
    /// Rows rejected (values that do not fit their columns).
    pub rows_rejected: u64,
    /// Offers dropped because the channel was full or the task gone (caught up from the log).
    pub dropped_offers: u64,
    /// Catch-up passes read from the log.
    pub catch_ups: u64,
}

/// The live state, updated by the task and by [`SinkHandle::offer`](super::SinkHandle::offer);
/// [`snapshot`](Self::snapshot) reads it.
#[derive(Debug)]
pub struct SinkStatusCell {
    connected: AtomicBool,
    stored_lsn: AtomicU64,
    stored_ts: AtomicI64,
    offered_lsn: AtomicU64,
    offered_ts: AtomicI64,
    first_offered_ts: AtomicI64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    rows_written: AtomicU64,
    rows_rejected: AtomicU64,
    dropped_offers: AtomicU64,
    catch_ups: AtomicU64,
}

/// "No time known" for the event-time fields.
const UNKNOWN: i64 = i64::MIN;

impl Default for SinkStatusCell {
    fn default() -> Self {
        SinkStatusCell {
            connected: AtomicBool::new(false),
            stored_lsn: AtomicU64::new(0),
            stored_ts: AtomicI64::new(UNKNOWN),
            offered_lsn: AtomicU64::new(0),
            offered_ts: AtomicI64::new(UNKNOWN),
            first_offered_ts: AtomicI64::new(UNKNOWN),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
            rows_written: AtomicU64::new(0),
            rows_rejected: AtomicU64::new(0),
            dropped_offers: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
        }
    }
}

impl SinkStatusCell {
    /// The current state.
    pub fn snapshot(&self) -> SinkStatus {
        let stored_lsn = self.stored_lsn.load(Relaxed);
        let offered_lsn = self.offered_lsn.load(Relaxed);
        let lag_rows = offered_lsn.saturating_sub(stored_lsn);
        let offered_ts = self.offered_ts.load(Relaxed);
        let mut stored_ts = self.stored_ts.load(Relaxed);
        if stored_ts == UNKNOWN {
            // Nothing stored yet: stale since the first offer.
            stored_ts = self.first_offered_ts.load(Relaxed);
        }
        let lag_seconds = if lag_rows == 0 || offered_ts == UNKNOWN || stored_ts == UNKNOWN {
            0.0
        } else {
            offered_ts.saturating_sub(stored_ts).max(0) as f64 / 1000.0
        };
        SinkStatus {
            connected: self.connected.load(Relaxed),
            stored_lsn,
            offered_lsn,
            lag_rows,
            lag_seconds,
            errors: self.errors.load(Relaxed),
            last_error: self.last_error.lock().map_or_else(
                |poisoned| poisoned.into_inner().clone(),
                |guard| guard.clone(),
            ),
            rows_written: self.rows_written.load(Relaxed),
            rows_rejected: self.rows_rejected.load(Relaxed),
            dropped_offers: self.dropped_offers.load(Relaxed),
            catch_ups: self.catch_ups.load(Relaxed),
        }
    }

    pub(crate) fn offered(&self, end: u64, max_ts: Option<i64>) {
        if let Some(ts) = max_ts {
            self.offered_ts.fetch_max(ts, Relaxed);
            let _ = self
                .first_offered_ts
                .compare_exchange(UNKNOWN, ts, Relaxed, Relaxed);
        }
        self.offered_lsn.fetch_max(end, Relaxed);
    }

    pub(crate) fn offered_lsn(&self) -> u64 {
        self.offered_lsn.load(Relaxed)
    }

    pub(crate) fn dropped(&self) {
        self.dropped_offers.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Relaxed);
    }

    pub(crate) fn stored(&self, next_lsn: u64, last_ts: Option<i64>) {
        self.stored_lsn.store(next_lsn, Relaxed);
        if let Some(ts) = last_ts {
            self.stored_ts.fetch_max(ts, Relaxed);
        }
    }

    pub(crate) fn wrote(&self, inserted: u64, rejected: u64) {
        self.rows_written.fetch_add(inserted, Relaxed);
        self.rows_rejected.fetch_add(rejected, Relaxed);
    }

    pub(crate) fn caught_up_once(&self) {
        self.catch_ups.fetch_add(1, Relaxed);
    }

    pub(crate) fn failed(&self, error: String) {
        self.errors.fetch_add(1, Relaxed);
        match self.last_error.lock() {
            Ok(mut guard) => *guard = Some(error),
            Err(poisoned) => *poisoned.into_inner() = Some(error),
        }
    }
}

/// Logs failures at most once per interval, saying how many it held back: an outage of
/// PostgreSQL must not flood the log with one line per retry.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub(crate) fn new(every: Duration) -> RateLimitedLog {
        RateLimitedLog {
            every,
            last: None,
            suppressed: 0,
        }
    }

    pub(crate) fn warn(&mut self, what: &str, error: &dyn std::fmt::Display) {
        let due = self.last.is_none_or(|t| t.elapsed() >= self.every);
        if due {
            tracing::warn!(%error, suppressed = self.suppressed, "PostgreSQL sink: {what}");
            self.last = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_event_time_between_offered_and_stored() {
        let cell = SinkStatusCell::default();
        assert_eq!(cell.snapshot().lag_seconds, 0.0);
        cell.offered(10, Some(1_000));
        cell.offered(20, Some(6_000));
        let s = cell.snapshot();
        assert_eq!((s.lag_rows, s.lag_seconds), (20, 5.0));
        cell.stored(15, Some(4_000));
        let s = cell.snapshot();
        assert_eq!((s.lag_rows, s.lag_seconds), (5, 2.0));
        cell.stored(20, Some(6_000));
        assert_eq!(cell.snapshot().lag_seconds, 0.0);
    }
}
