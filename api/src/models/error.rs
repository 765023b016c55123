//! The JSON error body `{"error":{"code","message"}}` and its status.

use serde::Serialize;
use warp::http::StatusCode;

/// An error answered to the client. `code` is stable (clients switch on it); `message` is
/// for humans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds to wait before retrying, sent as `Retry-After` (429).
    pub retry_after: Option<u64>,
}

/// The body of an error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error.
    pub error: ErrorDetail<'a>,
}

/// `code` and `message`.
#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    /// Stable code.
    pub code: &'a str,
    /// Explanation.
    pub message: &'a str,
}

impl Problem {
    /// A problem with any status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `rate_limited`, to be retried after `seconds`.
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        Problem {
            retry_after: Some(seconds),
            ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        }
    }

    /// The body as a JSON string.
    pub fn to_json(&self) -> String {
        // Serializing two strings cannot fail; the fallback only keeps the type total.
        serde_json::to_string(&self.body())
            .unwrap_or_else(|_| format!(r#"{{"error":{{"code":"{}","message":""}}}}"#, self.code))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}
