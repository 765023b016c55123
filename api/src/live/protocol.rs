//! The websocket protocol: what clients send and what the server answers (docs/API.md).

use crate::models::error::Problem;
use crate::models::ids::truncate;
use guildflow_dataflow::state::LeaderboardEntry;
use guildflow_model::{Metric, Period, UserId};
use serde::{Deserialize, Serialize};

/// Default `limit` of a subscription.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;

/// A client message, `{"subscribe":{...}}` or `{"unsubscribe":{...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Subscribe(RawSubscription),
    Unsubscribe(RawSubscription),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscription {
    metric: Option<String>,
    period: Option<String>,
    limit: Option<i64>,
}

/// A validated request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Start (or change the limit of) the subscription to `metric` × `period`.
    Subscribe {
        /// Metric.
        metric: Metric,
        /// Period.
        period: Period,
        /// Entries per frame, 1..=100.
        limit: usize,
    },
    /// Stop the subscription to `metric` × `period`.
    Unsubscribe {
        /// Metric.
        metric: Metric,
        /// Period.
        period: Period,
    },
}

fn metric(raw: Option<String>) -> Result<Metric, Problem> {
    match raw {
        None => Ok(Metric::Score),
        Some(raw) => raw.parse().map_err(|_| {
            Problem::bad_request(
                "invalid_metric",
                format!(
                    "metric must be one of messages, reactions, voice, score, xp, not {:?}",
                    truncate(&raw)
                ),
            )
        }),
    }
}

fn period(raw: Option<String>) -> Result<Period, Problem> {
    match raw {
        None => Ok(Period::All),
        Some(raw) => raw.parse().map_err(|_| {
            Problem::bad_request(
                "invalid_period",
                format!(
                    "period must be one of day, week, month, all, not {:?}",
                    truncate(&raw)
                ),
            )
        }),
    }
}

/// Parses and validates a text message.
pub fn parse(text: &str) -> Result<Request, Problem> {
    let message: ClientMessage = serde_json::from_str(text).map_err(|e| {
        Problem::bad_request(
            "bad_message",
            format!(
                "expected {{\"subscribe\":{{\"metric\",\"period\",\"limit\"}}}} or {{\"unsubscribe\":{{\"metric\",\"period\"}}}}: {e}"
            ),
        )
    })?;
    match message {
        ClientMessage::Subscribe(raw) => {
            let limit = match raw.limit {
                None => DEFAULT_LIMIT,
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::bad_request(
                            "invalid_limit",
                            format!("limit must be an integer from 1 to {MAX_LIMIT}, not {n}"),
                        )
                    })?,
            };
            Ok(Request::Subscribe {
                metric: metric(raw.metric)?,
                period: period(raw.period)?,
                limit,
            })
        }
        ClientMessage::Unsubscribe(raw) => Ok(Request::Unsubscribe {
            metric: metric(raw.metric)?,
            period: period(raw.period)?,
        }),
    }
}

/// `{"type":"leaderboard",...}`: the top of a leaderboard.
#[derive(Debug, Serialize)]
pub struct LeaderboardFrame<'a> {
    /// Always `leaderboard`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Metric.
    pub metric: Metric,
    /// Period.
    pub period: Period,
    /// Watermark of the state read (Unix ms).
    pub watermark: Option<i64>,
    /// The top `limit` entries.
    pub entries: &'a [LeaderboardEntry],
}

/// One member-activity event.
#[derive(Clone, Debug, Serialize)]
pub struct ActivityEvent {
    /// Always `level_up` for now.
    pub kind: &'static str,
    /// Member.
    pub user_id: UserId,
    /// New level.
    pub level: u32,
    /// XP total.
    pub xp: i64,
    /// Event time (Unix ms).
    pub at: i64,
}

/// `{"type":"activity","events":[...],"missed":N}`: member activity since the last frame.
#[derive(Debug, Serialize)]
pub struct ActivityFrame<'a> {
    /// Always `activity`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Events, oldest first.
    pub events: &'a [ActivityEvent],
    /// Events dropped because the client's buffer was full (it was not reading fast enough).
    pub missed: u64,
}

/// `{"type":"error","error":{"code","message"}}`.
pub fn error_frame(problem: &Problem) -> String {
    serde_json::json!({
        "type": "error",
        "error": { "code": problem.code, "message": problem.message },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_with_defaults() {
        assert_eq!(
            parse(r#"{"subscribe":{"metric":"score","period":"day","limit":10}}"#),
            Ok(Request::Subscribe {
                metric: Metric::Score,
                period: Period::Day,
                limit: 10
            })
        );
        assert_eq!(
            parse(r#"{"subscribe":{}}"#),
            Ok(Request::Subscribe {
                metric: Metric::Score,
                period: Period::All,
                limit: DEFAULT_LIMIT
            })
        );
    }

    #[test]
    fn rejects_bad_messages() {
        let code = |text: &str| parse(text).unwrap_err().code;
        assert_eq!(code("not json"), "bad_message");
        assert_eq!(code(r#"{"subscribe":{"metrc":"score"}}"#), "bad_message");
        assert_eq!(code(r#"{"publish":{}}"#), "bad_message");
        assert_eq!(
            code(r#"{"subscribe":{"metric":"karma"}}"#),
            "invalid_metric"
        );
        assert_eq!(code(r#"{"subscribe":{"period":"year"}}"#), "invalid_period");
        assert_eq!(code(r#"{"subscribe":{"limit":0}}"#), "invalid_limit");
        assert_eq!(code(r#"{"subscribe":{"limit":101}}"#), "invalid_limit");
        assert_eq!(code(r#"{"subscribe":{"limit":-3}}"#), "invalid_limit");
        assert_eq!(code(r#"{"subscribe":{"limit":"ten"}}"#), "bad_message");
    }
}
