//! `GET /api/guilds/{guild}/stats`.

use super::leaderboard::unknown_guild;
use super::{json_response, problem_response};
use crate::models::guild::GuildStatsResponse;
use crate::models::ids::parse_id;
use crate::shared::Shared;
use warp::http::StatusCode;
use warp::reply::Response;

/// The handler.
pub(crate) fn guild_stats(shared: &Shared, guild: &str) -> Response {
    let guild = match parse_id("guild", guild) {
        Ok(guild) => guild,
        Err(problem) => return problem_response(&problem),
    };
    let stats = {
        let published = shared.ctx.state.read();
        if !published.has_guild(guild) {
            return problem_response(&unknown_guild(guild));
        }
        published.guild_stats(guild)
    };
    json_response(StatusCode::OK, &GuildStatsResponse::new(guild, stats))
}
