//! `GET /api/openapi.json`: the OpenAPI 3.1 document of this API. Hand-written
//! (`api/openapi.json`) rather than derived: it says what the contract is, with the prose a
//! generator cannot produce, and `tests/openapi.rs` keeps it true to the route tree, the
//! golden responses and the error codes the handlers emit.

use super::response;
use warp::http::StatusCode;
use warp::reply::Response;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// The handler.
pub fn openapi() -> Response {
    response(StatusCode::OK, "application/json", OPENAPI_JSON.to_owned())
}
