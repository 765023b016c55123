//! `GET /api/guilds/{guild}/leaderboard`: parameters and response.

use super::error::Problem;
use super::ids::truncate;
use super::window::Span;
use guildflow_dataflow::state::LeaderboardEntry;
use guildflow_model::{GuildId, Metric};
use serde::Serialize;

/// Default `per_page`.
pub const DEFAULT_PER_PAGE: usize = 50;
/// Largest `per_page`.
pub const MAX_PER_PAGE: usize = 100;

/// Response format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv` (an export).
    Csv,
}

/// Validated leaderboard parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderboardQuery {
    /// Metric (default `score`).
    pub metric: Metric,
    /// Period or window (default: the live `all`).
    pub span: Span,
    /// 1-based page.
    pub page: usize,
    /// Entries per page, 1..=100.
    pub per_page: usize,
    /// Response format.
    pub format: Format,
    /// Whether `page` or `per_page` was given: a CSV export without them is the whole board.
    pub paged: bool,
}

fn last<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn positive(name: &str, raw: &str, max: usize) -> Result<usize, Problem> {
    let code = if name == "page" {
        "invalid_page"
    } else {
        "invalid_per_page"
    };
    match raw.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(Problem::bad_request(
            code,
            format!(
                "{name} must be an integer from 1 to {max}, not {:?}",
                truncate(raw)
            ),
        )),
    }
}

impl LeaderboardQuery {
    /// Validates the query parameters (later occurrences of a name win; unknown names are
    /// ignored) and the `Accept` header (`text/csv` asks for CSV unless `format` says).
    /// `xp` exists only on the live views: with a window it is a 400 `unsupported_metric`.
    pub fn parse(params: &[(String, String)], accept: Option<&str>) -> Result<Self, Problem> {
        let metric = match last(params, "metric") {
            None => Metric::Score,
            Some(raw) => raw.parse().map_err(|_| {
                Problem::bad_request(
                    "invalid_metric",
                    format!(
                        "metric must be one of messages, reactions, voice, score, xp, not {:?}",
                        truncate(raw)
                    ),
                )
            })?,
        };
        let span = Span::parse(
            last(params, "period"),
            last(params, "at"),
            last(params, "from"),
            last(params, "to"),
        )?;
        if metric == Metric::Xp && !span.is_live() {
            return Err(Problem::bad_request(
                "unsupported_metric",
                "xp is only ranked for the current standard periods (day, week, month, all \
                 without at, from or to); use messages, reactions, voice or score for windows",
            ));
        }
        // Pages past any realistic board are valid (and empty), but must not overflow.
        let page = last(params, "page")
            .map(|raw| positive("page", raw, 1_000_000_000))
            .transpose()?;
        let per_page = last(params, "per_page")
            .map(|raw| positive("per_page", raw, MAX_PER_PAGE))
            .transpose()?;
        let format = match last(params, "format") {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(other) => {
                return Err(Problem::bad_request(
                    "invalid_format",
                    format!("format must be json or csv, not {:?}", truncate(other)),
                ))
            }
            None if accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")) => {
                Format::Csv
            }
            None => Format::Json,
        };
        Ok(LeaderboardQuery {
            metric,
            span,
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(DEFAULT_PER_PAGE),
            format,
            paged: page.is_some() || per_page.is_some(),
        })
    }

    /// Entries skipped before the page.
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// The leaderboard body of SPEC §5.
#[derive(Debug, Serialize)]
pub struct LeaderboardResponse {
    /// Guild.
    pub guild_id: GuildId,
    /// Metric.
    pub metric: Metric,
    /// Period: `day`, `week`, `month`, `all`, a rolling window as asked (`7d`), or
    /// `custom` (`from`/`to`).
    pub period: String,
    /// 1-based page.
    pub page: usize,
    /// Page size.
    pub per_page: usize,
    /// Members listed (value > 0).
    pub total: usize,
    /// The page: value desc, then user id asc; 1-based ranks.
    pub entries: Vec<LeaderboardEntry>,
}

/// CSV of leaderboard entries: a `rank,user_id,value` header, then one row each.
pub fn to_csv(entries: &[LeaderboardEntry]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(16 + entries.len() * 32);
    out.push_str("rank,user_id,value\n");
    for entry in entries {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{},{},{}", entry.rank, entry.user_id, entry.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let q = LeaderboardQuery::parse(&[], None).unwrap();
        assert_eq!(
            (q.metric, q.span, q.page, q.per_page, q.format, q.paged),
            (
                Metric::Score,
                Span::Live(guildflow_model::Period::All),
                1,
                50,
                Format::Json,
                false
            )
        );
    }

    #[test]
    fn validation() {
        let code = |pairs: &[(&str, &str)]| {
            LeaderboardQuery::parse(&params(pairs), None)
                .unwrap_err()
                .code
        };
        assert_eq!(code(&[("metric", "karma")]), "invalid_metric");
        assert_eq!(code(&[("period", "year")]), "invalid_period");
        assert_eq!(code(&[("page", "0")]), "invalid_page");
        assert_eq!(code(&[("page", "-1")]), "invalid_page");
        assert_eq!(code(&[("page", "+1")]), "invalid_page");
        assert_eq!(code(&[("per_page", "0")]), "invalid_per_page");
        assert_eq!(code(&[("per_page", "101")]), "invalid_per_page");
        assert_eq!(code(&[("per_page", "ten")]), "invalid_per_page");
        assert_eq!(code(&[("format", "xml")]), "invalid_format");
        assert_eq!(code(&[("period", "7x")]), "invalid_period");
        assert_eq!(code(&[("at", "now")]), "invalid_at");
        assert_eq!(
            code(&[("metric", "xp"), ("period", "7d")]),
            "unsupported_metric"
        );
        assert_eq!(
            code(&[("metric", "xp"), ("at", "2026-01-01T00:00:00Z")]),
            "unsupported_metric"
        );
    }

    #[test]
    fn csv_by_accept_or_format() {
        let q = LeaderboardQuery::parse(&[], Some("text/csv")).unwrap();
        assert_eq!(q.format, Format::Csv);
        let q = LeaderboardQuery::parse(&params(&[("format", "json")]), Some("text/csv")).unwrap();
        assert_eq!(q.format, Format::Json);
        let q =
            LeaderboardQuery::parse(&params(&[("page", "3"), ("per_page", "10")]), None).unwrap();
        assert_eq!((q.offset(), q.paged), (20, true));
    }
}
