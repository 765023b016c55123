//! `GET /api/guilds/{guild}/members/{user}/stats`.

use super::leaderboard::unknown_guild;
use super::{json_response, problem_response};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::models::member::MemberStatsResponse;
use crate::shared::Shared;
use warp::http::StatusCode;
use warp::reply::Response;

/// The handler.
pub(crate) fn member_stats(shared: &Shared, guild: &str, user: &str) -> Response {
    let answer = || -> Result<Response, Problem> {
        let guild = parse_id("guild", guild)?;
        let user = parse_id("user", user)?;
        let stats = {
            let published = shared.ctx.state.read();
            if !published.has_guild(guild) {
                return Err(unknown_guild(guild));
            }
            if !published.has_member(guild, user) {
                return Err(Problem::not_found(
                    "unknown_member",
                    format!("no statistics for user {user} in guild {guild}"),
                ));
            }
            published.member_stats(guild, user)
        };
        Ok(json_response(
            StatusCode::OK,
            &MemberStatsResponse::new(guild, user, stats),
        ))
    };
    answer().unwrap_or_else(|problem| problem_response(&problem))
}
