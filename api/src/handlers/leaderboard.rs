//! `GET /api/guilds/{guild}/leaderboard` (JSON or CSV): current standard periods from the
//! live views; past periods and rolling windows from the store (`leaderboard_window.rs`).

use super::{json_response, problem_response, response, with_watermark};
use crate::metrics::Route;
use crate::models::error::Problem;
use crate::models::ids::parse_id;
use crate::models::leaderboard::{to_csv, Format, LeaderboardQuery, LeaderboardResponse};
use crate::models::window::Span;
use crate::shared::Shared;
use guildflow_dataflow::state::LeaderboardEntry;
use guildflow_model::GuildId;
use std::sync::Arc;
use warp::http::header::{HeaderValue, CONTENT_DISPOSITION};
use warp::http::StatusCode;
use warp::reply::Response;

/// The handler.
pub(crate) async fn leaderboard(
    shared: Arc<Shared>,
    guild: String,
    params: Vec<(String, String)>,
    accept: Option<String>,
    client: crate::shared::Client,
) -> Response {
    let answer = async {
        let guild = parse_id("guild", &guild)?;
        let query = LeaderboardQuery::parse(&params, accept.as_deref())?;
        match query.span {
            Span::Live(_) => live(&shared, guild, &query),
            _ => {
                let answer = super::leaderboard_window::window(&shared, guild, &query, client);
                let mut response = answer
                    .await
                    .unwrap_or_else(|problem| problem_response(&problem));
                response.extensions_mut().insert(Route::LeaderboardWindow);
                Ok(response)
            }
        }
    };
    answer
        .await
        .unwrap_or_else(|problem| problem_response(&problem))
}

fn live(shared: &Shared, guild: u64, query: &LeaderboardQuery) -> Result<Response, Problem> {
    let Span::Live(period) = query.span else {
        return Err(Problem::bad_request("invalid_period", "not a live period"));
    };
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
        published.leaderboard(guild, query.metric, period, offset, limit)
    };
    Ok(with_watermark(
        render(guild, query, period.as_str(), page.total, page.entries),
        page.watermark,
    ))
}

/// The JSON body or CSV export of a page.
pub(crate) fn render(
    guild: u64,
    query: &LeaderboardQuery,
    period: &str,
    total: usize,
    entries: Vec<LeaderboardEntry>,
) -> Response {
    match query.format {
        Format::Json => json_response(
            StatusCode::OK,
            &LeaderboardResponse {
                guild_id: GuildId(guild),
                metric: query.metric,
                period: period.to_owned(),
                page: query.page,
                per_page: query.per_page,
                total,
                entries,
            },
        ),
        Format::Csv => {
            let mut response =
                response(StatusCode::OK, "text/csv; charset=utf-8", to_csv(&entries));
            let name = format!(
                "attachment; filename=\"leaderboard-{guild}-{}-{period}.csv\"",
                query.metric
            );
            if let Ok(value) = HeaderValue::from_str(&name) {
                response.headers_mut().insert(CONTENT_DISPOSITION, value);
            }
            response
        }
    }
}

/// 404 for a guild without any state.
pub(crate) fn unknown_guild(guild: u64) -> Problem {
    Problem::not_found("unknown_guild", format!("no statistics for guild {guild}"))
}
