//! The route tree: paths, methods and extraction, delegating to [`crate::handlers`]. Every
//! response gets `Cache-Control: no-store` (live figures must never be served from a cache)
//! and is timed per route template for `/metrics`.

mod admin;
mod common;
mod sql;

use crate::auth;
use crate::context::ApiContext;
use crate::handlers;
use crate::metrics::Route;
use crate::shared::Shared;
use common::{body_limit, client, client_limit, query_pairs, with_shared};
use std::sync::Arc;
use std::time::Instant;
use warp::filters::path::FullPath;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use warp::reply::Response;
use warp::Filter;

/// Every route of the tree as (method, path template), in the OpenAPI document's spelling.
/// `tests/openapi.rs` checks that the document describes exactly these and that each answers
/// its method.
pub const ROUTES: [(&str, &str); 31] = [
    ("GET", "/api/guilds/{guild}/leaderboard"),
    ("GET", "/api/guilds/{guild}/members/{user}/stats"),
    ("GET", "/api/guilds/{guild}/stats"),
    ("POST", "/api/guilds/{guild}/sql"),
    ("GET", "/api/guilds/{guild}/live"),
    ("GET", "/api/guilds/{guild}/names"),
    ("GET", "/api/guilds"),
    ("GET", "/api/guilds/{guild}/settings"),
    ("PATCH", "/api/guilds/{guild}/settings"),
    ("GET", "/api/guilds/{guild}/automod/rules"),
    ("POST", "/api/guilds/{guild}/automod/rules"),
    ("POST", "/api/guilds/{guild}/automod/rules/test"),
    ("GET", "/api/guilds/{guild}/automod/rules/{rule}"),
    ("PATCH", "/api/guilds/{guild}/automod/rules/{rule}"),
    ("DELETE", "/api/guilds/{guild}/automod/rules/{rule}"),
    ("GET", "/api/guilds/{guild}/automod/escalation"),
    ("PUT", "/api/guilds/{guild}/automod/escalation"),
    ("GET", "/api/guilds/{guild}/automod/presets"),
    ("GET", "/api/guilds/{guild}/warnings"),
    ("POST", "/api/guilds/{guild}/warnings"),
    ("DELETE", "/api/guilds/{guild}/warnings/{warning}"),
    ("GET", "/api/guilds/{guild}/moderation/logs"),
    ("GET", "/api/guilds/{guild}/audit/logs"),
    ("GET", "/api/guilds/{guild}/members/{user}/opt-out"),
    ("PUT", "/api/guilds/{guild}/members/{user}/opt-out"),
    ("DELETE", "/api/guilds/{guild}/members/{user}/opt-out"),
    ("POST", "/api/guilds/{guild}/members/{user}/erase"),
    ("GET", "/api/guilds/{guild}/opt-outs"),
    ("GET", "/api/openapi.json"),
    ("GET", "/health"),
    ("GET", "/metrics"),
];

/// Every route of the API over `ctx`, for `warp::serve` or `warp::test`. Registers a state
/// listener that lives as long as the returned filter.
pub fn routes(ctx: ApiContext) -> BoxedFilter<(Response,)> {
    build(Shared::new(ctx))
}

pub(crate) fn build(shared: Arc<Shared>) -> BoxedFilter<(Response,)> {
    let guild = warp::path("api")
        .and(warp::path("guilds"))
        .and(warp::path::param::<String>());

    let leaderboard = warp::get()
        .and(guild)
        .and(warp::path("leaderboard"))
        .and(warp::path::end())
        .and(query_pairs())
        .and(warp::header::optional::<String>("accept"))
        .and(client(&shared))
        .and(with_shared(&shared))
        .then(
            |guild: String,
             params: Vec<(String, String)>,
             accept: Option<String>,
             client,
             shared: Arc<Shared>| {
                handlers::leaderboard::leaderboard(shared, guild, params, accept, client)
            },
        );

    let sql = sql::route(guild, &shared);

    let member = warp::get()
        .and(guild)
        .and(warp::path("members"))
        .and(warp::path::param::<String>())
        .and(warp::path("stats"))
        .and(warp::path::end())
        .and(with_shared(&shared))
        .map(|guild: String, user: String, shared: Arc<Shared>| {
            handlers::member::member_stats(&shared, &guild, &user)
        });

    let guild_stats = warp::get()
        .and(guild)
        .and(warp::path("stats"))
        .and(warp::path::end())
        .and(with_shared(&shared))
        .map(|guild: String, shared: Arc<Shared>| handlers::guild::guild_stats(&shared, &guild));

    let live = warp::get()
        .and(guild)
        .and(warp::path("live"))
        .and(warp::path::end())
        .and(warp::ws().map(Some).or(warp::any().map(|| None)).unify())
        .and(warp::header::headers_cloned())
        .and(with_shared(&shared))
        .map(|guild: String, ws, headers, shared: Arc<Shared>| {
            crate::live::upgrade(shared, guild, ws, &headers)
        });

    let names = warp::get()
        .and(guild)
        .and(warp::path("names"))
        .and(warp::path::end())
        .and(query_pairs())
        .and(with_shared(&shared))
        .map(
            |guild: String, params: Vec<(String, String)>, shared: Arc<Shared>| {
                handlers::names::names(&shared, &guild, &params)
            },
        );

    let health = warp::get()
        .and(warp::path("health"))
        .and(warp::path::end())
        .and(with_shared(&shared))
        .map(|shared: Arc<Shared>| handlers::health::health(&shared));

    let metrics = warp::get()
        .and(warp::path("metrics"))
        .and(warp::path::end())
        .and(with_shared(&shared))
        .map(|shared: Arc<Shared>| handlers::metrics::metrics(&shared));

    let openapi = warp::get()
        .and(warp::path("api"))
        .and(warp::path("openapi.json"))
        .and(warp::path::end())
        .map(handlers::openapi::openapi);

    // The dashboard: `/` and its files under `/dashboard/`; pages route by URL fragment.
    let dashboard = warp::get()
        .and(
            warp::path::end()
                .map(String::new)
                .or(warp::path("dashboard")
                    .and(warp::path::tail())
                    .map(|tail: warp::path::Tail| tail.as_str().to_owned()))
                .unify(),
        )
        .map(|path: String| handlers::dashboard::file(&path));

    let timing = Arc::clone(&shared);
    // The SQL route has its own body limit, so it sits outside the general one.
    let admin = admin::routes(&shared);
    let tree = sql
        .or(admin)
        .unify()
        .or(body_limit(shared.ctx.config.max_body_bytes).and(
            leaderboard
                .or(member)
                .unify()
                .or(guild_stats)
                .unify()
                .or(live)
                .unify()
                .or(names)
                .unify()
                .or(health)
                .unify()
                .or(metrics)
                .unify()
                .or(openapi)
                .unify()
                .or(dashboard)
                .unify(),
        ))
        .unify()
        .boxed();
    // Without authentication the tree is exactly the unauthenticated one; with it, the guard
    // runs before any route (so none can skip it) and the login routes are added.
    let tree = match &shared.ctx.auth {
        None => tree,
        Some(auth) => auth::routes::guard(Arc::clone(auth))
            .and(auth::routes::routes(Arc::clone(auth)).or(tree).unify())
            .boxed(),
    };
    let answer = client_limit(&shared)
        .and(tree)
        .recover(handlers::errors::recover)
        .unify();

    // Timed here rather than with `warp::log`, so a handler can name its route more finely
    // than the path does (a store window on the leaderboard path is not a live read).
    warp::any()
        .map(Instant::now)
        .and(warp::path::full())
        .and(answer)
        .map(
            move |start: Instant, path: FullPath, mut response: Response| {
                let route = response
                    .extensions()
                    .get::<Route>()
                    .copied()
                    .unwrap_or_else(|| Route::classify(path.as_str()));
                let headers = response.headers_mut();
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
                timing
                    .metrics
                    .observe_request(route, response.status().as_u16(), start.elapsed());
                response
            },
        )
        .boxed()
}
