//! The `POST /api/guilds/{guild}/sql` route. Once the path matches, this route answers every
//! request itself (wrong method, oversized or chunked body included), so its larger body
//! limit never mixes with the general one of the other routes.

use super::common::{body_limit, capped_body, client, with_shared};
use crate::handlers::errors::problem_of;
use crate::handlers::problem_response;
use crate::handlers::sql::{sql, SqlCall};
use crate::models::error::Problem;
use crate::shared::Shared;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reject::{MethodNotAllowed, Rejection};
use warp::reply::Response;
use warp::Filter;

/// The route, under the `/api/guilds/{guild}` prefix `guild`.
pub(super) fn route(
    guild: impl Filter<Extract = (String,), Error = Rejection> + Clone + Send + Sync + 'static,
    shared: &Arc<Shared>,
) -> BoxedFilter<(Response,)> {
    guild
        .and(warp::path("sql"))
        .and(warp::path::end())
        .and(warp::post())
        .and(body_limit(shared.ctx.config.sql_max_body_bytes))
        .and(client(shared))
        .and(warp::header::optional::<String>("accept"))
        .and(warp::header::optional::<String>("content-type"))
        .and(capped_body(shared.ctx.config.sql_max_body_bytes))
        .and(with_shared(shared))
        .then(
            |guild, client, accept, content_type, body, shared: Arc<Shared>| {
                let call = SqlCall {
                    guild,
                    client,
                    accept,
                    content_type,
                    body,
                };
                sql(shared, call)
            },
        )
        .recover(answer_rejection)
        .unify()
        .boxed()
}

/// A request on another path goes on to the other routes; one on this path is answered here.
async fn answer_rejection(rejection: Rejection) -> Result<Response, Rejection> {
    if rejection.is_not_found() {
        return Err(rejection);
    }
    let problem = if rejection.find::<MethodNotAllowed>().is_some() {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route only answers POST",
        )
    } else {
        problem_of(&rejection)
    };
    Ok(problem_response(&problem))
}
