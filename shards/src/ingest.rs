//! The one decode path shared by live shards and replay: a raw frame in, a normalized event
//! (or nothing) out, every outcome counted and every failure logged with its origin.

use crate::capture::CaptureItem;
use crate::decode::{decode_frame, DecodeCounters, DecodeError, Decoded};
use crate::RawFrame;
use guildflow_model::Event;
use std::sync::Arc;

/// Decodes frames for the pipeline.
#[derive(Clone, Debug, Default)]
pub struct Ingest {
    counters: Arc<DecodeCounters>,
}

impl Ingest {
    /// A decoder counting into `counters`.
    pub fn new(counters: Arc<DecodeCounters>) -> Self {
        Ingest { counters }
    }

    /// The counters (for metrics and the console).
    pub fn counters(&self) -> &Arc<DecodeCounters> {
        &self.counters
    }

    /// Decodes one frame; `line` is its capture line number when replaying.
    pub fn frame(&self, frame: &RawFrame, line: Option<u64>) -> Option<Event> {
        let outcome = decode_frame(&frame.text, frame.shard, frame.at);
        self.counters.record(frame.text.len(), &outcome);
        match outcome {
            Ok(Decoded::Event(event)) => Some(event),
            Ok(Decoded::Ignored { .. } | Decoded::Control { .. }) => None,
            Err(error) => {
                self.log(&error, frame.shard, line);
                None
            }
        }
    }

    /// Decodes one capture item.
    pub fn capture_item(&self, item: CaptureItem) -> Option<Event> {
        match item {
            CaptureItem::Frame { line, frame } => self.frame(&frame, Some(line)),
            CaptureItem::Bad { line, error } => {
                self.counters.record_error(&error);
                self.log(&error, u32::MAX, Some(line));
                None
            }
        }
    }

    /// Logs a failure; after the first hundred of a reason, only every thousandth, so hostile
    /// input cannot flood the log (the metric still counts each one).
    fn log(&self, error: &DecodeError, shard: u32, line: Option<u64>) {
        let seen = self.counters.errors(error.reason());
        if seen <= 100 || seen.is_multiple_of(1000) {
            let reason = error.reason().as_str();
            match (line, shard) {
                (Some(line), u32::MAX) => {
                    tracing::warn!(line, reason, %error, total = seen, "skipped capture line")
                }
                (Some(line), shard) => {
                    tracing::warn!(line, shard, reason, %error, total = seen, "skipped frame")
                }
                (None, shard) => {
                    tracing::warn!(shard, reason, %error, total = seen, "skipped frame")
                }
            }
        }
    }
}
