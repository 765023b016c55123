//! `GET /metrics`.

use super::response;
use crate::shared::Shared;
use std::fmt::Write;
use warp::http::StatusCode;
use warp::reply::Response;

/// The Prometheus text exposition.
pub(crate) fn metrics(shared: &Shared) -> Response {
    let mut text = crate::metrics::render(&shared.ctx, &shared.metrics);
    text.push_str("# HELP guildflow_websocket_rooms Guilds with at least one live client.\n");
    text.push_str("# TYPE guildflow_websocket_rooms gauge\n");
    let _ = writeln!(text, "guildflow_websocket_rooms {}", shared.rooms.len());
    response(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    )
}
