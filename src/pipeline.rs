//! The downstream of shards and replay. Until the dataflow lands, events are decoded and
//! counted (the counters are the console's and later `/metrics`' source).

use guildflow_model::Event;
use guildflow_shards::capture::CaptureWriter;
use guildflow_shards::ingest::Ingest;
use guildflow_shards::RawFrame;
use std::io::Write;
use tokio::sync::mpsc;

/// Bound of the queue between shards and the pipeline. Shards never wait on it while
/// connected (see `guildflow_shards::gateway`); it absorbs bursts.
pub const FRAME_QUEUE: usize = 65_536;

/// Where decoded events go.
pub trait EventSink: Send {
    /// Takes one event.
    fn accept(&mut self, event: Event);
}

/// Counts only (the counters live in [`Ingest`]).
pub struct Discard;

impl EventSink for Discard {
    fn accept(&mut self, _event: Event) {}
}

/// Drains live frames: optionally records them verbatim, then decodes and forwards.
pub async fn drain_live(
    mut frames: mpsc::Receiver<RawFrame>,
    ingest: Ingest,
    mut sink: impl EventSink,
    mut record: Option<CaptureWriter<Box<dyn Write + Send>>>,
) -> std::io::Result<()> {
    let mut batch = Vec::with_capacity(1024);
    while frames.recv_many(&mut batch, 1024).await > 0 {
        for frame in batch.drain(..) {
            if let Some(writer) = record.as_mut() {
                writer.write(&frame)?;
            }
            if let Some(event) = ingest.frame(&frame, None) {
                sink.accept(event);
            }
        }
    }
    if let Some(writer) = record.as_mut() {
        writer.flush()?;
    }
    Ok(())
}
