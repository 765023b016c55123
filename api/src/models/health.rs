//! `GET /health`: the response.

use guildflow_shards::registry::{ShardPhase, ShardSnapshot};
use serde::Serialize;

/// One shard's state (the registry's snapshot without the session id, which is not for
/// monitoring eyes).
#[derive(Debug, Serialize)]
pub struct ShardHealth {
    /// Shard id.
    pub id: u32,
    /// Connection phase (`ready`, `resuming`, `paused`, `fatal`, ...).
    pub phase: ShardPhase,
    /// Last heartbeat round trip, ms.
    pub heartbeat_latency_ms: Option<f64>,
    /// Dispatches handed downstream.
    pub events: u64,
    /// Guilds of the session.
    pub guilds: u64,
    /// Last sequence handed downstream.
    pub sequence: Option<u64>,
    /// Successful identifies.
    pub identifies: u64,
    /// Successful resumes.
    pub resumes: u64,
    /// Backpressure pauses.
    pub pauses: u64,
    /// Last error or close reason.
    pub last_error: Option<String>,
}

impl From<ShardSnapshot> for ShardHealth {
    fn from(s: ShardSnapshot) -> Self {
        ShardHealth {
            id: s.id,
            phase: s.phase,
            heartbeat_latency_ms: s.heartbeat_latency_ms,
            events: s.events,
            guilds: s.guilds,
            sequence: s.sequence,
            identifies: s.identifies,
            resumes: s.resumes,
            pauses: s.pauses,
            last_error: s.last_error,
        }
    }
}

/// Overall status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Serving, every shard (if any) ready.
    Ok,
    /// Serving, but some shard is not ready (reconnecting, paused, fatal).
    Degraded,
    /// Not ready yet (a replay still running): 503.
    Starting,
}

/// The health body.
#[derive(Debug, Serialize)]
pub struct HealthResponse {
    /// Status.
    pub status: Status,
    /// Watermark (Unix ms): the largest event time whose effects are all published.
    pub watermark: Option<i64>,
    /// Wall clock minus watermark, seconds.
    pub lag_seconds: Option<f64>,
    /// Events processed by the pipeline (decoded events when the pipeline reports none).
    pub events_processed: u64,
    /// Frames that failed to decode.
    pub decode_errors: u64,
    /// Connected websocket clients.
    pub websocket_clients: u64,
    /// Every shard of this process (absent when replaying).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardHealth>>,
}
