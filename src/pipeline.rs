//! The downstream of shards and replay: decoded events go, in batches, into the dataflow.

use crate::durable::Durable;
use guildflow_dataflow::runtime::Dataflow;
use guildflow_model::Event;
use guildflow_shards::capture::CaptureWriter;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::RawFrame;
use std::io::Write;
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
}

/// Batches events into the dataflow.
pub struct DataflowSink {
    dataflow: Dataflow,
    batch: Vec<Event>,
}

impl DataflowSink {
    /// Wraps a running dataflow.
    pub fn new(dataflow: Dataflow) -> Self {
        DataflowSink {
            dataflow,
            batch: Vec::with_capacity(REPLAY_BATCH),
        }
    }

    /// The dataflow (to finish it).
    pub fn into_inner(mut self) -> Dataflow {
        self.flush();
        self.dataflow
    }
}

impl EventSink for DataflowSink {
    fn accept(&mut self, event: Event) {
        self.batch.push(event);
        if self.batch.len() >= REPLAY_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(REPLAY_BATCH));
            self.dataflow.push(batch);
        }
    }
}

/// Drains live frames: optionally records them verbatim, then decodes and forwards; each
/// received burst becomes one dataflow batch, so latency stays low at any rate.
pub async fn drain_live<S: EventSink>(
    mut frames: mpsc::Receiver<RawFrame>,
    ingest: Ingest,
    mut sink: S,
    mut record: Option<CaptureWriter<Box<dyn Write + Send>>>,
    mut durable: Option<Durable>,
) -> anyhow::Result<S> {
    let mut batch = Vec::with_capacity(1024);
    while frames.recv_many(&mut batch, 1024).await > 0 {
        // Durable first: the log holds every raw frame before anything is derived from it.
        if let Some(durable) = durable.as_mut() {
            durable.append(&batch)?;
        }
        for frame in batch.drain(..) {
            if let Some(writer) = record.as_mut() {
                writer.write(&frame)?;
            }
            if let Some(event) = ingest.frame(&frame, None) {
                if let Some(durable) = durable.as_mut() {
                    durable.observe(&event);
                }
                sink.accept(event);
            }
        }
        sink.flush();
        if let Some(durable) = durable.as_mut() {
            durable.checkpoint(false)?;
        }
    }
    if let Some(writer) = record.as_mut() {
        writer.flush()?;
    }
    if let Some(durable) = durable.as_mut() {
        durable.checkpoint(true)?;
    }
    Ok(sink)
}
