//! The admin routes under `/api/guilds/{guild}/` (settings, automod, warnings, logs,
//! opt-outs) and `GET /api/guilds`. Recognised from the path before the body is read, so other
//! routes never lose theirs; admin bodies have their own limit.

use super::common::{body_limit, capped_body, query_pairs, with_shared};
use crate::handlers::admin::{admin, guilds, AdminCall, Op};
use crate::shared::Shared;
use bytes::Bytes;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;
use warp::Filter;

/// Largest admin request body (an automod rule with its word lists fits many times over).
pub(crate) const ADMIN_MAX_BODY: u64 = 256 * 1024;

/// The routes.
pub(super) fn routes(shared: &Arc<Shared>) -> BoxedFilter<(Response,)> {
    let op = warp::path("api")
        .and(warp::path("guilds"))
        .and(warp::path::param::<String>())
        .and(warp::path::tail())
        .and_then(|guild: String, tail: warp::path::Tail| async move {
            match Op::recognize(tail.as_str()) {
                Some(op) => Ok((guild, op)),
                None => Err(warp::reject::not_found()),
            }
        })
        .untuple_one();
    let admin_routes = op
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(query_pairs())
        .and(body_limit(ADMIN_MAX_BODY))
        .and(capped_body(ADMIN_MAX_BODY))
        .and(with_shared(shared))
        .then(
            |guild: String,
             op: Op,
             method: Method,
             headers: HeaderMap,
             query: Vec<(String, String)>,
             body: Bytes,
             shared: Arc<Shared>| {
                admin(
                    shared,
                    AdminCall {
                        guild,
                        op,
                        method,
                        headers,
                        query,
                        body,
                    },
                )
            },
        );
    let list = warp::get()
        .and(warp::path("api"))
        .and(warp::path("guilds"))
        .and(warp::path::end())
        .and(warp::header::headers_cloned())
        .and(with_shared(shared))
        .map(|headers: HeaderMap, shared: Arc<Shared>| guilds(&shared, &headers));
    admin_routes.or(list).unify().boxed()
}
