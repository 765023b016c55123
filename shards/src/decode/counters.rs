//! Lock-free counters of decoded events by kind and of failures by reason, shared between the
//! decoding task and whoever reports them (the demo's console, later `/metrics`).

use super::{DecodeError, DecodeReason, Decoded};
use guildflow_model::EventKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of decode outcomes.
#[derive(Debug, Default)]
pub struct DecodeCounters {
    by_kind: [AtomicU64; EventKind::ALL.len()],
    by_reason: [AtomicU64; DecodeReason::ALL.len()],
    ignored: AtomicU64,
    control: AtomicU64,
    bytes: AtomicU64,
}

impl DecodeCounters {
    /// Records the outcome of decoding a frame of `bytes` bytes.
    pub fn record(&self, bytes: usize, outcome: &Result<Decoded, DecodeError>) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        match outcome {
            Ok(Decoded::Event(event)) => {
                self.by_kind[event.body.kind().index()].fetch_add(1, Ordering::Relaxed);
            }
            Ok(Decoded::Ignored { .. }) => {
                self.ignored.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Decoded::Control { .. }) => {
                self.control.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => self.record_error(error),
        }
    }

    /// Records a failure.
    pub fn record_error(&self, error: &DecodeError) {
        self.by_reason[error.reason() as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Events decoded of `kind`.
    pub fn events(&self, kind: EventKind) -> u64 {
        self.by_kind[kind.index()].load(Ordering::Relaxed)
    }

    /// All normalized events.
    pub fn events_total(&self) -> u64 {
        self.by_kind.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Failures with `reason`.
    pub fn errors(&self, reason: DecodeReason) -> u64 {
        self.by_reason[reason as usize].load(Ordering::Relaxed)
    }

    /// All failures.
    pub fn errors_total(&self) -> u64 {
        self.by_reason
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Dispatches of types we do not use.
    pub fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// Non-dispatch frames.
    pub fn control(&self) -> u64 {
        self.control.load(Ordering::Relaxed)
    }

    /// Bytes of frames seen.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}
