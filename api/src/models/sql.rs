//! `POST /api/guilds/{guild}/sql`: the request body, the result format negotiated from
//! `Accept`, and the mapping of the query layer's errors to HTTP problems.

use super::error::Problem;
use super::ids::truncate;
use guildflow_queries::SqlError;
use serde::Deserialize;
use warp::http::StatusCode;

/// Arrow IPC stream media type.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The request body. Unknown fields are ignored (room for later options).
#[derive(Debug, Deserialize)]
pub struct SqlRequest {
    /// One read-only statement.
    pub sql: String,
}

impl SqlRequest {
    /// Parses the body. The content type must be JSON: a cross-site form or `text/plain`
    /// post cannot send it without a CORS preflight, which keeps browsers of logged-in admins
    /// from being made to run queries.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<SqlRequest, Problem> {
        let json = content_type.is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the query as JSON {\"sql\":\"...\"} with Content-Type: application/json",
            ));
        }
        serde_json::from_slice(body).map_err(|e| {
            Problem::bad_request(
                "invalid_body",
                format!(
                    "the body must be JSON {{\"sql\":\"...\"}}: {}",
                    truncate(&e.to_string())
                ),
            )
        })
    }
}

/// How the result is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultFormat {
    /// `{"columns":[...],"rows":[[...]],"truncated":bool}`.
    Json,
    /// CSV with a header line.
    Csv,
    /// Arrow IPC stream.
    Arrow,
}

impl ResultFormat {
    /// The format an `Accept` header asks for: the first supported media range by quality
    /// (`q`), then by order; JSON when there is no header or it allows anything. A header
    /// naming only other types is a 406.
    pub fn negotiate(accept: Option<&str>) -> Result<ResultFormat, Problem> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            return Ok(ResultFormat::Json);
        };
        let mut ranges: Vec<(f32, ResultFormat)> = Vec::new();
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let format = match media.as_str() {
                "application/json" | "application/*" | "*/*" => ResultFormat::Json,
                "text/csv" | "text/*" => ResultFormat::Csv,
                ARROW_STREAM => ResultFormat::Arrow,
                _ => continue,
            };
            if q > 0.0 {
                ranges.push((q, format));
            }
        }
        // A stable sort keeps the header's order among equal qualities.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges.first().map(|(_, f)| *f).ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                format!(
                    "results are application/json, text/csv or {ARROW_STREAM}, not {:?}",
                    truncate(accept)
                ),
            )
        })
    }

    /// The `Content-Type` of the encoded result.
    pub fn content_type(self) -> &'static str {
        match self {
            ResultFormat::Json => "application/json",
            ResultFormat::Csv => "text/csv; charset=utf-8",
            ResultFormat::Arrow => ARROW_STREAM,
        }
    }
}

/// The problem of a failed query: the query layer's stable code, 400 for the client's
/// errors, 504 for a timeout (the deadline covers waiting for a slot, so a busy server can
/// cause it too, and a 408 would invite clients to resend the same query at once), 500 for
/// ours (details logged, not shown: they can name server paths).
pub fn sql_problem(error: &SqlError) -> Problem {
    match error {
        SqlError::Internal(detail) => {
            tracing::error!(%detail, "query failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.code(),
                "the query failed on the server's side; it has been logged",
            )
        }
        SqlError::Timeout(_) => {
            Problem::new(StatusCode::GATEWAY_TIMEOUT, error.code(), error.to_string())
        }
        _ => Problem::bad_request(error.code(), error.to_string()),
    }
}

/// 503 when the process serves no store queries.
pub fn sql_unavailable() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "sql_unavailable",
        "this server has no store to query (SQL and windowed leaderboards are unavailable)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let f = |a: Option<&str>| ResultFormat::negotiate(a);
        assert_eq!(f(None).unwrap(), ResultFormat::Json);
        assert_eq!(f(Some("*/*")).unwrap(), ResultFormat::Json);
        assert_eq!(f(Some("text/csv")).unwrap(), ResultFormat::Csv);
        assert_eq!(
            f(Some("Text/CSV; charset=utf-8")).unwrap(),
            ResultFormat::Csv
        );
        assert_eq!(f(Some(ARROW_STREAM)).unwrap(), ResultFormat::Arrow);
        assert_eq!(
            f(Some("text/csv;q=0.5, application/vnd.apache.arrow.stream")).unwrap(),
            ResultFormat::Arrow
        );
        assert_eq!(
            f(Some("text/html, text/csv, */*;q=0.1")).unwrap(),
            ResultFormat::Csv
        );
        assert_eq!(f(Some("text/csv;q=0, */*")).unwrap(), ResultFormat::Json);
        assert_eq!(
            f(Some("application/xml")).unwrap_err().code,
            "not_acceptable"
        );
    }

    #[test]
    fn body_needs_json() {
        assert_eq!(
            SqlRequest::parse(Some("application/json"), br#"{"sql":"SELECT 1"}"#)
                .unwrap()
                .sql,
            "SELECT 1"
        );
        assert!(
            SqlRequest::parse(Some("application/json; charset=utf-8"), br#"{"sql":"x"}"#).is_ok()
        );
        let code = |t: Option<&str>, b: &[u8]| SqlRequest::parse(t, b).unwrap_err().code;
        assert_eq!(
            code(Some("text/plain"), br#"{"sql":"x"}"#),
            "unsupported_media_type"
        );
        assert_eq!(code(None, br#"{"sql":"x"}"#), "unsupported_media_type");
        assert_eq!(code(Some("application/json"), b"SELECT 1"), "invalid_body");
        assert_eq!(
            code(Some("application/json"), br#"{"query":"x"}"#),
            "invalid_body"
        );
        assert_eq!(
            code(Some("application/json"), br#"{"sql":1}"#),
            "invalid_body"
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(sql_problem(&SqlError::Timeout(10)).status, 504);
        assert_eq!(
            sql_problem(&SqlError::Internal("/data/x".into())).status,
            500
        );
        assert!(!sql_problem(&SqlError::Internal("/data/x".into()))
            .message
            .contains("/data"));
        let p = sql_problem(&SqlError::NotReadOnly("CREATE TABLE".into()));
        assert_eq!((p.status.as_u16(), p.code), (400, "not_read_only"));
    }
}
