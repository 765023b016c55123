//! `GET /api/guilds/{guild}/leaderboard` (JSON or CSV).

use super::{json_response, problem_response, response, with_watermark};
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::models::leaderboard::{to_csv, Format, LeaderboardQuery, LeaderboardResponse};
use crate::shared::Shared;
use guildflow_model::GuildId;
use warp::http::header::{HeaderValue, CONTENT_DISPOSITION};
use warp::http::StatusCode;
use warp::reply::Response;

/// The handler.
pub(crate) fn leaderboard(
    shared: &Shared,
    guild: &str,
    params: &[(String, String)],
    accept: Option<&str>,
) -> Response {
    match answer(shared, guild, params, accept) {
        Ok(response) => response,
        Err(problem) => problem_response(&problem),
    }
}

fn answer(
    shared: &Shared,
    guild: &str,
    params: &[(String, String)],
    accept: Option<&str>,
) -> Result<Response, Problem> {
    let guild = parse_id("guild", guild)?;
    let query = LeaderboardQuery::parse(params, accept)?;
    // An unpaged CSV is an export of the whole board; everything else is one page.
    let (offset, limit) = if query.format == Format::Csv && !query.paged {
        (0, shared.ctx.config.max_export_rows)
    } else {
        (query.offset(), query.per_page)
    };
    let page = {
        let published = shared.ctx.state.read();
        if !published.has_guild(guild) {
            return Err(unknown_guild(guild));
        }
        published.leaderboard(guild, query.metric, query.period, offset, limit)
    };
    let watermark = page.watermark;
    let response = match query.format {
        Format::Json => json_response(
            StatusCode::OK,
            &LeaderboardResponse {
                guild_id: GuildId(guild),
                metric: query.metric,
                period: query.period,
                page: query.page,
                per_page: query.per_page,
                total: page.total,
                entries: page.entries,
            },
        ),
        Format::Csv => {
            let mut response = response(
                StatusCode::OK,
                "text/csv; charset=utf-8",
                to_csv(&page.entries),
            );
            let name = format!(
                "attachment; filename=\"leaderboard-{guild}-{}-{}.csv\"",
                query.metric, query.period
            );
            if let Ok(value) = HeaderValue::from_str(&name) {
                response.headers_mut().insert(CONTENT_DISPOSITION, value);
            }
            response
        }
    };
    Ok(with_watermark(response, watermark))
}

/// 404 for a guild without any state.
pub(crate) fn unknown_guild(guild: u64) -> Problem {
    Problem::not_found("unknown_guild", format!("no statistics for guild {guild}"))
}
