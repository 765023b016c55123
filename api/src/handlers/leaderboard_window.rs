//! Leaderboards over past periods and rolling windows (`period=7d`, `at=`, `from`/`to`),
//! computed from the store by the query service with the live boards' rules and shape.

use super::leaderboard::{render, unknown_guild};
use super::with_watermark;
use crate::models::error::Problem;
use crate::models::leaderboard::LeaderboardQuery;
use crate::models::sql::{sql_problem, sql_unavailable};
use crate::shared::Shared;
use guildflow_dataflow::state::LeaderboardEntry;
use guildflow_model::UserId;
use guildflow_queries::WindowMetric;
use std::time::Instant;
use warp::http::header::HeaderValue;
use warp::reply::Response;

/// Answers a windowed leaderboard. A CSV is one page (at most 100 rows) here: each page is
/// a full aggregation over the store, so there is no whole-board export.
pub(crate) async fn window(
    shared: &Shared,
    guild: u64,
    query: &LeaderboardQuery,
    client: crate::shared::Client,
) -> Result<Response, Problem> {
    let service = shared.ctx.sql.clone().ok_or_else(sql_unavailable)?;
    let metric = WindowMetric::parse(query.metric.as_str()).ok_or_else(|| {
        Problem::bad_request(
            "unsupported_metric",
            format!("{} is not ranked over windows", query.metric),
        )
    })?;
    // The live views' watermark anchors rolling windows, so `period=7d` and the live boards
    // describe the same moment.
    let watermark = {
        let published = shared.ctx.state.read();
        if !published.has_guild(guild) {
            return Err(unknown_guild(guild));
        }
        published.watermark
    };
    let Some((from, to)) = query.span.window(watermark.unwrap_or(0))? else {
        return Err(Problem::bad_request("invalid_period", "not a window"));
    };
    let _permit = shared.admit_query(client, guild, Instant::now())?;
    let board = service
        .leaderboard_window(
            guild,
            metric,
            from,
            to,
            query.page as u64,
            query.per_page as u64,
        )
        .await
        .map_err(|e| sql_problem(&e))?;
    let entries = board
        .entries
        .iter()
        .map(|e| LeaderboardEntry {
            rank: usize::try_from(e.rank).unwrap_or(usize::MAX),
            user_id: UserId(e.user_id),
            value: e.value,
        })
        .collect();
    let total = usize::try_from(board.total).unwrap_or(usize::MAX);
    let mut response = render(guild, query, &query.span.label(), total, entries);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-guildflow-window-from", from),
        ("x-guildflow-window-to", to),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, value);
        }
    }
    Ok(with_watermark(response, watermark))
}
