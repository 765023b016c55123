//! Routing failures (no route, wrong method, oversized body, bad query string) as JSON
//! problems. Never a 5xx for bad input: whatever warp rejects is the client's doing.

use super::problem_response;
use crate::models::error::Problem;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reject::{InvalidQuery, MethodNotAllowed, PayloadTooLarge, Rejection};
use warp::reply::Response;

/// A request body over the limit (ours; warp's own is [`PayloadTooLarge`]).
#[derive(Debug)]
pub(crate) struct BodyTooLarge {
    pub limit: u64,
}

impl warp::reject::Reject for BodyTooLarge {}

/// A request refused before routing (rate limits), with the problem to answer.
#[derive(Debug)]
pub(crate) struct Refusal(pub Problem);

impl warp::reject::Reject for Refusal {}

/// The problem a rejection stands for.
pub(crate) fn problem_of(rejection: &Rejection) -> Problem {
    if let Some(Refusal(problem)) = rejection.find::<Refusal>() {
        return problem.clone();
    }
    if let Some(too_large) = rejection.find::<BodyTooLarge>() {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request bodies are limited to {} bytes and need a Content-Length",
                too_large.limit
            ),
        );
    }
    if rejection.is_not_found() {
        return Problem::not_found("not_found", "no such route (see docs/API.md)");
    }
    if rejection.find::<MethodNotAllowed>().is_some() {
        return Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route only answers GET",
        );
    }
    if rejection.find::<PayloadTooLarge>().is_some() {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        );
    }
    if rejection.find::<InvalidQuery>().is_some() {
        return Problem::bad_request("invalid_query", "the query string is not valid");
    }
    Problem::bad_request("bad_request", format!("bad request: {rejection:?}"))
}

/// The recover filter's handler.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(problem_response(&problem_of(&rejection)))
}
