//! Request handlers: validated input in, a response out. Every domain error is answered here
//! as a JSON [`Problem`]; only routing failures reach the rejection handler.

pub(crate) mod admin;
pub(crate) mod dashboard;
pub mod errors;
pub mod guild;
pub mod health;
pub mod leaderboard;
mod leaderboard_window;
pub mod member;
pub mod metrics;
pub(crate) mod names;
pub mod openapi;
pub mod sql;

use crate::models::error::Problem;
use serde::Serialize;
use warp::http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use warp::http::StatusCode;
use warp::reply::Response;

/// A response with `body` and `content_type`.
pub(crate) fn response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A binary (or already encoded) response.
pub(crate) fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_string(body) {
        Ok(body) => response(status, "application/json", body),
        Err(error) => {
            tracing::error!(%error, "cannot serialize a response");
            problem_response(&Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the response could not be serialized",
            ))
        }
    }
}

/// The JSON error response of `problem`.
pub fn problem_response(problem: &Problem) -> Response {
    let mut response = response(problem.status, "application/json", problem.to_json());
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Sets `x-guildflow-watermark` (Unix ms of the state read), so clients of bodies that do not
/// carry it (the leaderboard, CSV) can still tell how fresh they are.
pub(crate) fn with_watermark(mut response: Response, watermark: Option<i64>) -> Response {
    if let Some(w) = watermark {
        if let Ok(value) = HeaderValue::from_str(&w.to_string()) {
            response
                .headers_mut()
                .insert("x-guildflow-watermark", value);
        }
    }
    response
}
