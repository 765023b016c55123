//! Prometheus metrics, hand-written (the text exposition format is small; a registry crate
//! would add a dependency tree for a few atomics).
//!
//! - [`PipelineMetrics`]: updated by the pipeline (events, processing time, sink lag);
//! - [`ServerMetrics`]: updated by the API itself (HTTP latency per route, websocket clients);
//! - [`render`]: the `/metrics` text, which also reads the decode counters, the shard registry
//!   and the state's watermark at scrape time.

mod histogram;
mod pipeline;
pub(crate) mod render;
mod server;

pub use histogram::Histogram;
pub use pipeline::PipelineMetrics;
pub use render::render;
pub use server::{Route, ServerMetrics, WsDrop};
