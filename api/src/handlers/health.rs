//! `GET /health`.

use super::json_response;
use crate::metrics::render::now_ms;
use crate::models::health::{HealthResponse, ShardHealth, Status};
use crate::shared::Shared;
use guildflow_shards::registry::ShardPhase;
use warp::http::StatusCode;
use warp::reply::Response;

/// The handler: 503 until ready, then 200 (`degraded` still answers 200: a reconnecting shard
/// is not a reason for a load balancer to stop sending traffic to the API).
pub(crate) fn health(shared: &Shared) -> Response {
    let ctx = &shared.ctx;
    let shards = ctx.registry.as_ref().map(|registry| registry.snapshot());
    let ready = ctx.readiness.is_ready();
    let status = if !ready {
        Status::Starting
    } else if shards
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.phase != ShardPhase::Ready))
    {
        Status::Degraded
    } else {
        Status::Ok
    };
    let watermark = ctx.state.watermark();
    let processed = ctx.metrics.processed_total();
    let body = HealthResponse {
        status,
        watermark,
        lag_seconds: watermark.map(|w| (now_ms() - w) as f64 / 1000.0),
        // Until the pipeline reports, decoded events are the best count there is.
        events_processed: if processed > 0 {
            processed
        } else {
            ctx.decode.events_total()
        },
        decode_errors: ctx.decode.errors_total(),
        websocket_clients: shared.metrics.ws_clients(),
        shards: shards.map(|s| s.into_iter().map(ShardHealth::from).collect()),
    };
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(code, &body)
}
