//! The downstream of shards and replay: decoded events go, in batches, into the dataflow.

use guildflow_admin::{DataflowControl, EraseRequest};
use guildflow_api::{PermissionDirectory, PipelineMetrics};
use guildflow_dataflow::runtime::Dataflow;
use guildflow_model::{Event, EventKind};
use guildflow_shards::capture::CaptureWriter;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::RawFrame;
use guildflow_store::durable::DurableStore;
use guildflow_store::erase::erase_member_postgres;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Bound of the queue between shards and the pipeline. Shards never wait on it while
/// connected (see `guildflow_shards::gateway`); it absorbs bursts.
pub const FRAME_QUEUE: usize = 65_536;

/// Events per dataflow batch when replaying as fast as possible.
pub const REPLAY_BATCH: usize = 4096;

/// Where decoded events go.
pub trait EventSink: Send {
    /// Takes one event.
    fn accept(&mut self, event: Event);
    /// Hands buffered events on.
    fn flush(&mut self);
    /// The payload of a snapshot of what the sink holds after every event accepted so far;
    /// None when it keeps nothing worth one.
    fn snapshot(&mut self) -> Option<anyhow::Result<Vec<u8>>> {
        None
    }
}

/// Batches events into the dataflow, and keeps the API's directory of who administers which
/// guild current.
pub struct DataflowSink {
    dataflow: DataflowControl,
    batch: Vec<Event>,
    directory: Option<PermissionDirectory>,
}

impl DataflowSink {
    /// Wraps a running dataflow.
    pub fn new(dataflow: Dataflow) -> Self {
        DataflowSink {
            dataflow: DataflowControl::new(dataflow),
            batch: Vec::with_capacity(REPLAY_BATCH),
            directory: None,
        }
    }

    /// Also feeds `directory` (guilds, roles, members: the API's authorization).
    pub fn with_directory(mut self, directory: PermissionDirectory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The dataflow, shared with the admin plane (which configures it live).
    pub fn shared(&self) -> DataflowControl {
        self.dataflow.clone()
    }

    /// Restores a snapshot's payload ([`crate::snapshots`]) into the dataflow, which must not
    /// have been fed yet, and into the directory. `Ok(false)`: a payload of another format,
    /// nothing changed.
    pub fn restore(&mut self, payload: &[u8]) -> Result<bool, String> {
        let mut guard = self.dataflow.lock();
        let dataflow = guard
            .as_mut()
            .ok_or_else(|| "the dataflow was already taken".to_owned())?;
        match crate::snapshots::restore(dataflow, payload)? {
            Some(directory) => {
                if let (Some(target), Some(saved)) = (&self.directory, directory) {
                    target.import(saved);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The dataflow (to finish it); the admin plane can no longer reach it.
    pub fn into_inner(mut self) -> anyhow::Result<Dataflow> {
        self.flush();
        self.dataflow
            .take()
            .ok_or_else(|| anyhow::anyhow!("the dataflow was already taken"))
    }
}

impl EventSink for DataflowSink {
    fn accept(&mut self, event: Event) {
        if let Some(directory) = &self.directory {
            directory.observe(&event);
        }
        self.batch.push(event);
        if self.batch.len() >= REPLAY_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(REPLAY_BATCH));
            if let Some(dataflow) = self.dataflow.lock().as_mut() {
                dataflow.push(batch);
            }
        }
    }

    fn snapshot(&mut self) -> Option<anyhow::Result<Vec<u8>>> {
        self.flush();
        let mut guard = self.dataflow.lock();
        // Cluster processes rebuild from their stores (docs/STORAGE.md).
        let dataflow = guard.as_mut().filter(|d| d.supports_snapshots())?;
        let directory = self.directory.as_ref().map(PermissionDirectory::export);
        Some(crate::snapshots::capture(dataflow, directory))
    }
}

/// Writes a snapshot of `sink`'s state with `store`'s (`force`: whether due or not). A
/// failure is logged, not fatal: ingestion goes on, and the next start replays more rows.
pub fn save_snapshot<S: EventSink>(store: &mut DurableStore, sink: &mut S, force: bool) {
    if !(store.snapshot_due() || force && store.snapshots_enabled()) {
        return;
    }
    let started = Instant::now();
    let Some(payload) = sink.snapshot() else {
        return;
    };
    let captured = started.elapsed();
    // A clean stop waits for the file; otherwise it is written while ingestion goes on.
    match payload.and_then(|p| Ok((p.len(), store.save_snapshot(p, force)?))) {
        Ok((bytes, Some(next_lsn))) => tracing::info!(
            next_lsn,
            bytes,
            capture_ms = captured.as_millis() as u64,
            store_ms = (started.elapsed() - captured).as_millis() as u64,
            "snapshot of the views taken"
        ),
        Ok((_, None)) => {}
        Err(e) => tracing::error!(error = %format!("{e:#}"), "snapshot of the views failed"),
    }
}

/// Erase requests of the admin plane, served by the pipeline because it owns the store; and
/// the PostgreSQL database to erase from as well.
pub struct Erasures {
    /// Requests.
    pub requests: mpsc::Receiver<EraseRequest>,
    /// `--postgres`, when configured.
    pub postgres: Option<String>,
}

/// Drains live frames: optionally records them verbatim, decodes them, stores them (frames
/// the store already holds are dropped there), and forwards the events; each received burst
/// becomes one dataflow batch, so latency stays low at any rate. Between bursts it serves
/// erase requests (ingestion waits meanwhile; the shards buffer).
pub async fn drain_live<S: EventSink>(
    mut frames: mpsc::Receiver<RawFrame>,
    ingest: Ingest,
    mut sink: S,
    mut record: Option<CaptureWriter<Box<dyn Write + Send>>>,
    mut store: Option<DurableStore>,
    metrics: PipelineMetrics,
    mut erasures: Option<Erasures>,
) -> anyhow::Result<(S, Option<DurableStore>)> {
    let mut batch = Vec::with_capacity(1024);
    let mut kinds = KindCounts::default();
    loop {
        let request = async {
            match erasures.as_mut() {
                Some(e) => e.requests.recv().await,
                None => std::future::pending().await,
            }
        };
        let received = tokio::select! {
            n = frames.recv_many(&mut batch, 1024) => n,
            Some(request) = request => {
                let postgres = erasures.as_ref().and_then(|e| e.postgres.clone());
                erase(store.as_mut(), postgres.as_deref(), request).await;
                continue;
            }
        };
        if received == 0 {
            break;
        }
        let started = Instant::now();
        if let Some(writer) = record.as_mut() {
            for frame in &batch {
                writer.write(frame)?;
            }
        }
        match store.as_mut() {
            Some(store) => {
                let decoded = batch
                    .drain(..)
                    .map(|frame| {
                        let event = ingest.frame(&frame, None);
                        (frame, event)
                    })
                    .collect();
                // Durable first: the log holds every frame before anything is derived from it.
                for event in tokio::task::block_in_place(|| store.admit(decoded))? {
                    kinds.add(&event);
                    sink.accept(event);
                }
            }
            None => {
                for frame in batch.drain(..) {
                    if let Some(event) = ingest.frame(&frame, None) {
                        kinds.add(&event);
                        sink.accept(event);
                    }
                }
            }
        }
        sink.flush();
        if let Some(store) = store.as_mut() {
            tokio::task::block_in_place(|| {
                store.checkpoint(false)?;
                save_snapshot(store, &mut sink, false);
                anyhow::Ok(())
            })?;
            report_lag(store, &metrics);
        }
        kinds.report(&metrics, started.elapsed());
    }
    if let Some(writer) = record.as_mut() {
        writer.flush()?;
    }
    if let Some(store) = store.as_mut() {
        tokio::task::block_in_place(|| {
            store.flush()?;
            // A clean stop restarts from here without replaying anything.
            save_snapshot(store, &mut sink, true);
            anyhow::Ok(())
        })?;
    }
    Ok((sink, store))
}

/// Serves one erase request on the store (and PostgreSQL), answering its outcome.
async fn erase(store: Option<&mut DurableStore>, postgres: Option<&str>, request: EraseRequest) {
    let EraseRequest { guild, user, reply } = request;
    let Some(store) = store else {
        let _ = reply.send(Err("this pipeline keeps no event store".into()));
        return;
    };
    let started = Instant::now();
    let outcome = match tokio::task::block_in_place(|| store.erase_member(guild, user)) {
        Ok(report) => {
            let mut detail = serde_json::json!({
                "parquet_rows": report.parquet_rows,
                "files_rewritten": report.files_rewritten,
                "files_removed": report.files_removed,
                "log_records": report.log_records,
                "messages": report.messages,
            });
            // Rows the sink still has in flight would come back after the delete.
            let settled = store.postgres_caught_up(Duration::from_secs(60)).await;
            match postgres {
                Some(_) if !settled => Err(
                    "erased from the data directory; PostgreSQL is behind (outage?), so its rows \
                     were not deleted yet: retry once it has caught up"
                        .to_owned(),
                ),
                Some(url) => match erase_member_postgres(url, guild, user).await {
                    Ok(pg) => {
                        detail["postgres_rows"] = serde_json::json!(pg.total());
                        Ok(detail)
                    }
                    Err(e) => Err(format!(
                        "erased from the data directory, not from PostgreSQL: {e}"
                    )),
                },
                None => Ok(detail),
            }
        }
        Err(e) => Err(e.to_string()),
    };
    match &outcome {
        Ok(detail) => {
            tracing::info!(guild, user, %detail, took = ?started.elapsed(), "member erased")
        }
        Err(error) => tracing::error!(guild, user, %error, "member erasure failed"),
    }
    let _ = reply.send(outcome);
}

/// Events of one batch by kind, for the per-type metrics.
#[derive(Default)]
struct KindCounts([u64; EventKind::ALL.len()]);

impl KindCounts {
    fn add(&mut self, event: &Event) {
        self.0[event.body.kind().index()] += 1;
    }

    /// Records the batch: each event is charged an equal share of the batch's time (decode,
    /// store, hand-off to the dataflow), the cost the pipeline pays per event.
    fn report(&mut self, metrics: &PipelineMetrics, elapsed: Duration) {
        let total: u64 = self.0.iter().sum();
        if total == 0 {
            return;
        }
        let each = elapsed / u32::try_from(total).unwrap_or(u32::MAX);
        for kind in EventKind::ALL {
            let n = std::mem::take(&mut self.0[kind.index()]);
            if n > 0 {
                metrics.record_events(kind, n, each);
            }
        }
    }
}

fn report_lag(store: &DurableStore, metrics: &PipelineMetrics) {
    let lag = store.lag();
    metrics.set_sink_lag("parquet", lag.parquet_records, lag.parquet_seconds);
    if let Some(pg) = lag.postgres {
        metrics.set_sink_lag("postgres", pg.lag_rows, pg.lag_seconds);
    }
}
