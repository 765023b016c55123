//! The ingest edge of guildflow: everything between Discord's gateway and the normalized
//! [`guildflow_model::Event`] stream.
//!
//! - [`decode`]: raw gateway frames -> normalized events, failures counted by reason;
//! - [`gateway`]: real Discord shards on twilight-gateway, with a bounded hand-off queue;
//! - [`registry`]: per-shard state, heartbeat latency and rates, readable by the API;
//! - [`simulator`]: a local Discord gateway v10 server with fault injection;
//! - [`workload`]: a seeded generator of realistic guilds and dispatch streams;
//! - [`capture`]: the capture format (SPEC §1), record and replay;
//! - [`ingest`]: the one decode path of live shards and replay.

pub mod capture;
pub mod decode;
pub mod gateway;
pub mod ingest;
pub mod registry;
pub mod simulator;
pub mod workload;

/// One frame exactly as a shard received it, the unit handed from shards to the pipeline.
pub use guildflow_model::RawFrame;
