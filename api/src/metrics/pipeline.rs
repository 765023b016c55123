//! Metrics the pipeline reports: what it processed, how long that took, how far its sinks lag.

use super::histogram::{Histogram, EVENT_BUCKETS};
use guildflow_model::EventKind;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Lag of one sink (store, PostgreSQL, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SinkLag {
    /// Rows accepted but not yet durable in the sink.
    pub rows: u64,
    /// Age of the oldest such row, seconds.
    pub seconds: f64,
}

#[derive(Debug)]
struct Inner {
    processed: [AtomicU64; EventKind::ALL.len()],
    durations: [Histogram; EventKind::ALL.len()],
    sinks: Mutex<BTreeMap<String, SinkLag>>,
}

/// Counters the pipeline updates; cheap to clone (shared).
///
/// The pipeline calls [`PipelineMetrics::record_event`] (or `record_events` per batch) for
/// every event it hands to the dataflow, and [`PipelineMetrics::set_sink_lag`] whenever a sink
/// reports progress. Everything else on `/metrics` is read at scrape time.
#[derive(Clone, Debug)]
pub struct PipelineMetrics {
    inner: Arc<Inner>,
}

impl Default for PipelineMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl PipelineMetrics {
    /// Zeroed metrics.
    pub fn new() -> Self {
        PipelineMetrics {
            inner: Arc::new(Inner {
                processed: std::array::from_fn(|_| AtomicU64::new(0)),
                durations: std::array::from_fn(|_| Histogram::new(EVENT_BUCKETS)),
                sinks: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// One event of `kind` processed in `elapsed` (decode to hand-off).
    pub fn record_event(&self, kind: EventKind, elapsed: Duration) {
        self.record_events(kind, 1, elapsed);
    }

    /// `n` events of `kind` processed in `elapsed_each` each (a batch's time divided by its
    /// size: per-event timing would cost more than the events).
    pub fn record_events(&self, kind: EventKind, n: u64, elapsed_each: Duration) {
        if n == 0 {
            return;
        }
        if let (Some(count), Some(histogram)) = (
            self.inner.processed.get(kind.index()),
            self.inner.durations.get(kind.index()),
        ) {
            count.fetch_add(n, Ordering::Relaxed);
            histogram.observe_many(elapsed_each, n);
        }
    }

    /// Events of `kind` processed.
    pub fn processed(&self, kind: EventKind) -> u64 {
        self.inner
            .processed
            .get(kind.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Events processed, every kind.
    pub fn processed_total(&self) -> u64 {
        self.inner
            .processed
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Sets the lag of sink `sink` (e.g. `parquet`, `postgres`).
    pub fn set_sink_lag(&self, sink: &str, rows: u64, seconds: f64) {
        let mut sinks = self
            .inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sinks.insert(sink.to_owned(), SinkLag { rows, seconds });
    }

    /// Every sink's lag, by name.
    pub fn sink_lags(&self) -> BTreeMap<String, SinkLag> {
        self.inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn duration_histogram(&self, kind: EventKind) -> Option<&Histogram> {
        self.inner.durations.get(kind.index())
    }
}
