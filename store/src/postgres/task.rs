//! The sink task: keeps PostgreSQL off the ingestion path.
//!
//! Ingestion offers each appended batch's rows with its LSN range through a bounded channel
//! and never waits ([`SinkHandle::offer`] is a `try_send`). The task writes what it receives
//! while it is contiguous with what is stored. Whenever it finds a hole — an offer dropped
//! because the channel was full, rows lost with a failed connection, a tail offered but never
//! received — it reads the missing records back from the write-ahead log. PostgreSQL being
//! down or slow therefore only makes the sink lag; the lag is in [`SinkStatus`].

use super::catchup::CatchUpSource;
use super::sink::{PostgresSink, SinkConfig, WriteReport};
use super::status::{RateLimitedLog, SinkStatus, SinkStatusCell};
use super::{PostgresSinkError, Result};
use crate::row::EventRow;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Settings of a [`PostgresSinkTask`].
#[derive(Clone, Debug)]
pub struct TaskConfig {
    /// The connection and batching.
    pub sink: SinkConfig,
    /// Offers the channel holds; beyond, offers are dropped and caught up from the log.
    pub channel_capacity: usize,
    /// First reconnect delay, doubled after each failure...
    pub backoff_min: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// Create partitions for this many days after today (native partitioning).
    pub partitions_ahead_days: u32,
    /// Drop partitions older than this many days (native partitioning; None keeps all).
    /// Under TimescaleDB the retention policy of the migration does it instead.
    pub retention_days: Option<u32>,
    /// How often partitions and retention are seen to (also at every connect).
    pub maintenance_every: Duration,
    /// At most one log line per failure kind per this interval.
    pub log_every: Duration,
    /// With nothing received for this long, the task checks for an unreceived tail.
    pub idle_check: Duration,
}

impl TaskConfig {
    /// Defaults around `sink`: 1024 offers, backoff 100 ms to 30 s, partitions 3 days
    /// ahead, 30-day retention checked hourly, failures logged every 30 s at most.
    pub fn new(sink: SinkConfig) -> TaskConfig {
        TaskConfig {
            sink,
            channel_capacity: 1024,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            partitions_ahead_days: 3,
            retention_days: Some(30),
            maintenance_every: Duration::from_secs(3600),
            log_every: Duration::from_secs(30),
            idle_check: Duration::from_millis(500),
        }
    }
}

/// The rows of the log records `start..end`.
struct Offer {
    start: u64,
    end: u64,
    rows: Vec<EventRow>,
}

/// The ingestion side's end: cheap to clone, never blocks.
#[derive(Clone)]
pub struct SinkHandle {
    tx: mpsc::Sender<Offer>,
    status: Arc<SinkStatusCell>,
}

impl SinkHandle {
    /// Offers the rows of the log records `lsns` (every row of that range; records that are
    /// not events have none). Call it after the log has made them durable, so PostgreSQL never
    /// holds a record a crash could take back from the log. Never waits: returns false when
    /// the offer was dropped (channel full or task gone); the task then catches up from the
    /// log.
    pub fn offer(&self, lsns: Range<u64>, rows: Vec<EventRow>) -> bool {
        if lsns.is_empty() {
            return true;
        }
        // Announced before sending, so the task never receives rows beyond what it knows
        // was offered, and learns of a dropped tail even if nothing follows it.
        self.status
            .offered(lsns.end, rows.iter().map(|r| r.ts).max());
        let offer = Offer {
            start: lsns.start,
            end: lsns.end,
            rows,
        };
        match self.tx.try_send(offer) {
            Ok(()) => true,
            Err(_) => {
                self.status.dropped();
                false
            }
        }
    }

    /// The sink's state.
    pub fn status(&self) -> SinkStatus {
        self.status.snapshot()
    }

    /// The shared state, for a metrics endpoint.
    pub fn status_cell(&self) -> Arc<SinkStatusCell> {
        Arc::clone(&self.status)
    }
}

/// The running sink task. Dropping it stops the task like [`shutdown`](Self::shutdown)
/// without waiting for it.
pub struct PostgresSinkTask {
    handle: SinkHandle,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl PostgresSinkTask {
    /// Spawns the task on the current tokio runtime. `source` is read (on a blocking thread)
    /// to catch up; [`WalCatchUp`](super::WalCatchUp) reads the shared write-ahead log.
    pub fn spawn<S: CatchUpSource>(config: TaskConfig, source: S) -> PostgresSinkTask {
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let status = Arc::new(SinkStatusCell::default());
        let runner = Runner {
            log: RateLimitedLog::new(config.log_every),
            config,
            source: Arc::new(Mutex::new(source)),
            rx,
            stop: stop_rx,
            status: Arc::clone(&status),
            sink: None,
            last_maintenance: None,
        };
        let join = tokio::spawn(runner.run());
        PostgresSinkTask {
            handle: SinkHandle { tx, status },
            stop,
            join,
        }
    }

    /// A handle for ingestion.
    pub fn handle(&self) -> SinkHandle {
        self.handle.clone()
    }

    /// The shared state, for a metrics endpoint.
    pub fn status(&self) -> Arc<SinkStatusCell> {
        self.handle.status_cell()
    }

    /// Asks the task to store everything offered so far and stop; waits at most `grace`
    /// (then abandons it: the log still holds the rest, for the next start). Returns the
    /// final state.
    pub async fn shutdown(self, grace: Duration) -> SinkStatus {
        let _ = self.stop.send(true);
        let mut join = self.join;
        if tokio::time::timeout(grace, &mut join).await.is_err() {
            join.abort();
        }
        self.handle.status()
    }
}

struct Runner<S> {
    config: TaskConfig,
    source: Arc<Mutex<S>>,
    rx: mpsc::Receiver<Offer>,
    stop: watch::Receiver<bool>,
    status: Arc<SinkStatusCell>,
    sink: Option<PostgresSink>,
    last_maintenance: Option<Instant>,
    log: RateLimitedLog,
}

impl<S: CatchUpSource> Runner<S> {
    async fn run(mut self) {
        let mut backoff = self.config.backoff_min;
        loop {
            let stopping = self.stopping();
            if self.sink.as_ref().is_none_or(PostgresSink::is_closed) {
                self.disconnect();
                if stopping {
                    // Nothing to flush to: the log keeps it for the next start.
                    return;
                }
                match PostgresSink::connect(self.config.sink.clone()).await {
                    Ok(sink) => {
                        tracing::info!(stored_lsn = sink.next_lsn(), "PostgreSQL sink connected");
                        self.status.stored(sink.next_lsn(), sink.last_ts());
                        self.status.set_connected(true);
                        self.sink = Some(sink);
                        backoff = self.config.backoff_min;
                        self.last_maintenance = None;
                    }
                    Err(error) => {
                        self.fail("cannot connect", error);
                        self.sleep_unless_stopped(backoff).await;
                        backoff = (backoff * 2).min(self.config.backoff_max);
                        continue;
                    }
                }
            }
            let result = if stopping {
                self.drain_and_finish().await
            } else {
                self.step().await
            };
            match result {
                Ok(true) => return,
                Ok(false) => {}
                Err(error) => {
                    let lost_connection = matches!(error, PostgresSinkError::Db(_))
                        || self.sink.as_ref().is_none_or(PostgresSink::is_closed);
                    self.fail("write failed", error);
                    if lost_connection {
                        // A fresh session: no aborted transaction, position re-read from
                        // the database, rows in flight re-read from the log.
                        self.disconnect();
                    }
                    self.sleep_unless_stopped(backoff).await;
                    backoff = (backoff * 2).min(self.config.backoff_max);
                }
            }
        }
    }

    /// One round: maintenance when due, then what the channel holds (waiting for it a
    /// little), or a catch-up when offers were missed. Ok(false) to continue.
    async fn step(&mut self) -> Result<bool> {
        self.maintain_if_due().await?;
        let wait = self.config.idle_check;
        let first = tokio::select! {
            offer = self.rx.recv() => offer,
            _ = self.stop.changed() => return Ok(false),
            _ = tokio::time::sleep(wait) => None,
        };
        let Some(first) = first else {
            // Idle (or every handle dropped): anything offered but never received is a
            // dropped tail, in the log.
            self.catch_up().await?;
            if self.rx.is_closed() && self.rx.is_empty() {
                tokio::time::sleep(wait).await;
            }
            return Ok(false);
        };
        let mut offers = vec![first];
        let mut rows = offers[0].rows.len();
        while rows < self.config.sink.batch_rows {
            match self.rx.try_recv() {
                Ok(offer) => {
                    rows += offer.rows.len();
                    offers.push(offer);
                }
                Err(_) => break,
            }
        }
        self.write_offers(offers).await?;
        Ok(false)
    }

    /// On stop: stores what was received and catches up with what was offered. Ok(true) when
    /// done.
    async fn drain_and_finish(&mut self) -> Result<bool> {
        let mut offers = Vec::new();
        while let Ok(offer) = self.rx.try_recv() {
            offers.push(offer);
        }
        self.write_offers(offers).await?;
        self.catch_up().await?;
        Ok(true)
    }

    /// Writes received offers in order, catching up from the log across any hole.
    async fn write_offers(&mut self, offers: Vec<Offer>) -> Result<()> {
        let mut cursor = self.stored_lsn();
        let mut pending: Vec<EventRow> = Vec::new();
        for offer in offers {
            if offer.end <= cursor {
                continue;
            }
            if offer.start > cursor {
                self.write(&pending, cursor).await?;
                pending.clear();
                self.catch_up().await?;
                cursor = self.stored_lsn();
                if offer.end <= cursor {
                    continue;
                }
            }
            pending.extend(offer.rows.into_iter().filter(|r| r.lsn >= cursor));
            cursor = offer.end;
        }
        self.write(&pending, cursor).await
    }

    /// Reads the log from the stored position until it reaches what was offered.
    async fn catch_up(&mut self) -> Result<()> {
        let mut counted = false;
        loop {
            let from = self.stored_lsn();
            let target = self.status.offered_lsn();
            if from >= target {
                return Ok(());
            }
            if !counted {
                self.status.caught_up_once();
                tracing::info!(from, target, "PostgreSQL sink catching up from the log");
                counted = true;
            }
            let source = Arc::clone(&self.source);
            let max = self.config.sink.batch_rows;
            let chunk = tokio::task::spawn_blocking(move || {
                let mut source = source.lock().unwrap_or_else(|p| p.into_inner());
                source.read(from, max)
            })
            .await
            .map_err(|e| PostgresSinkError::CatchUp(e.to_string()))?
            .map_err(PostgresSinkError::CatchUp)?;
            if chunk.end <= from {
                return Err(PostgresSinkError::CatchUp(format!(
                    "the log has no record at {from} although records up to {target} were offered"
                )));
            }
            if let Some(first) = chunk.rows.first().filter(|r| r.lsn > from) {
                // Fine when those records are not events; a warning when the log was pruned
                // past the sink (then they are gone from PostgreSQL for good).
                tracing::debug!(
                    from,
                    first = first.lsn,
                    "catch-up skips records without rows"
                );
            }
            self.write(&chunk.rows, chunk.end).await?;
        }
    }

    async fn write(&mut self, rows: &[EventRow], end: u64) -> Result<()> {
        let Some(sink) = self.sink.as_mut() else {
            return Err(PostgresSinkError::CatchUp("not connected".to_owned()));
        };
        if end <= sink.next_lsn() {
            return Ok(());
        }
        let WriteReport {
            next_lsn,
            inserted,
            rejected,
            last_ts,
            ..
        } = sink.write_range(rows, end).await?;
        self.status.wrote(inserted, rejected);
        self.status.stored(next_lsn, last_ts);
        Ok(())
    }

    async fn maintain_if_due(&mut self) -> Result<()> {
        if self
            .last_maintenance
            .is_some_and(|t| t.elapsed() < self.config.maintenance_every)
        {
            return Ok(());
        }
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        self.last_maintenance = Some(Instant::now());
        let (created, dropped) = sink
            .maintain(
                self.config.partitions_ahead_days,
                self.config.retention_days,
            )
            .await?;
        if created > 0 || dropped > 0 {
            tracing::info!(created, dropped, "events partitions maintained");
        }
        Ok(())
    }

    /// Asked to stop, or the task's owner is gone (dropping [`PostgresSinkTask`] stops it).
    fn stopping(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }

    fn stored_lsn(&self) -> u64 {
        self.sink
            .as_ref()
            .map_or_else(|| self.status.snapshot().stored_lsn, PostgresSink::next_lsn)
    }

    fn disconnect(&mut self) {
        if self.sink.take().is_some() {
            tracing::warn!("PostgreSQL sink disconnected; ingestion continues, the sink will catch up from the log");
        }
        self.status.set_connected(false);
    }

    fn fail(&mut self, what: &str, error: PostgresSinkError) {
        self.log.warn(what, &error);
        self.status.failed(format!("{what}: {error}"));
    }

    async fn sleep_unless_stopped(&mut self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.stop.changed() => {}
        }
    }
}
