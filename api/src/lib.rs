//! guildflow's HTTP API on warp: the REST reads of SPEC §5 (leaderboards with CSV export, live
//! and over store windows; member and guild stats), guild-scoped ad hoc SQL, the live
//! leaderboard websocket, Prometheus `/metrics` and `/health`, its OpenAPI 3.1 document
//! (`/api/openapi.json`) and per-client rate limits on every `/api/` route. It owns the HTTP
//! surface only:
//! it reads the dataflow's published [`guildflow_dataflow::state::StatsState`], the store
//! through `guildflow_queries::GuildSql` (which owns SQL planning, isolation and limits), the
//! shard registry and the decode counters, and never writes to them.
//!
//! The binary builds an [`ApiContext`] from its handles and calls [`serve`] (with a store,
//! add `.with_sql(GuildSql::new(store_reader, SqlLimits::default())?)`):
//!
//! ```no_run
//! # async fn run(state: guildflow_dataflow::state::StatsState) -> Result<(), guildflow_api::ApiError> {
//! use guildflow_api::{serve, ApiContext, Readiness};
//! let readiness = Readiness::pending();
//! let ctx = ApiContext::new(state).with_readiness(readiness.clone());
//! let server = tokio::spawn(serve(
//!     "127.0.0.1:8080".parse().unwrap(),
//!     ctx,
//!     async { let _ = tokio::signal::ctrl_c().await; },
//! ));
//! // ... replay the file, then:
//! readiness.mark_ready();
//! # let _ = server.await;
//! # Ok(()) }
//! ```
//!
//! Layout: [`filters`] (route tree), [`handlers`] (one file per route), [`models`] (request
//! validation and response shapes), [`live`] (websocket rooms and sessions), [`metrics`],
//! [`auth`] (opt-in login, sessions, API tokens and per-guild authorization).

pub mod auth;
pub mod context;
pub mod error;
pub mod filters;
pub mod handlers;
pub mod live;
pub mod metrics;
pub mod models;
mod ratelimit;
mod server;
mod shared;

pub use auth::{AuthConfig, AuthError, AuthStore, DirectoryState, PermissionDirectory, TokenInfo};
pub use context::{ApiConfig, ApiContext, RateLimit, Readiness};
pub use error::ApiError;
pub use filters::routes;
pub use metrics::PipelineMetrics;
pub use server::{bind, serve, serve_listener};
