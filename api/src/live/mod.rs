//! The live leaderboard websocket, `GET /api/guilds/{guild}/live` (SPEC §5, docs/API.md).

pub mod limiter;
pub mod protocol;
pub(crate) mod rooms;
mod session;

use crate::handlers::problem_response;
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::shared::Shared;
use std::sync::Arc;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::ws::Ws;

/// Answers the upgrade request: validates the guild id and the client cap, then hands the
/// socket to a session. Any well-formed guild id is accepted, known or not yet: a live view
/// is about what happens next (a guild's first events may come after the client).
///
/// With authentication, the guard has checked the caller, the guild and the Origin already;
/// the session keeps the credential to close itself when access ends.
pub(crate) fn upgrade(
    shared: Arc<Shared>,
    guild: String,
    ws: Option<Ws>,
    headers: &HeaderMap,
) -> Response {
    let guild = match parse_id("guild", &guild) {
        Ok(guild) => guild,
        Err(problem) => return problem_response(&problem),
    };
    let Some(ws) = ws else {
        return problem_response(&Problem::bad_request(
            "websocket_required",
            "this route is a websocket: send an HTTP/1.1 upgrade request",
        ));
    };
    let config = &shared.ctx.config;
    if usize::try_from(shared.metrics.ws_clients()).unwrap_or(usize::MAX) >= config.ws_max_clients {
        return problem_response(&Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_clients",
            "the server has as many live clients as it takes; retry later",
        ));
    }
    let access = match &shared.ctx.auth {
        None => None,
        Some(auth) => match crate::auth::live_access(auth, headers, guild) {
            Some(access) => Some(access),
            // The guard let it through, so it was valid a moment ago: revoked in between.
            None => {
                return problem_response(&Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the credential was revoked",
                ))
            }
        },
    };
    let max = config.ws_max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| session::run(socket, guild, shared, access))
        .into_response()
}
