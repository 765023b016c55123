//! State of one API instance, shared by its filters and websocket sessions.

use crate::context::ApiContext;
use crate::live::rooms::Rooms;
use crate::metrics::Route;
use crate::metrics::ServerMetrics;
use crate::models::error::Problem;
use crate::ratelimit::{ClientLimiter, Permit, QueryLimiter, RequestKind};
use guildflow_dataflow::state::Listening;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;
use warp::http::HeaderMap;

/// Who is asking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Client {
    /// Peer address (None without a transport address, e.g. in-process tests).
    pub addr: Option<SocketAddr>,
    /// Signed-in user (authentication on).
    pub user: Option<u64>,
}

pub(crate) struct Shared {
    pub ctx: ApiContext,
    pub metrics: ServerMetrics,
    pub rooms: Arc<Rooms>,
    /// `true` once the server shuts down (websocket sessions close with 1001).
    pub shutdown: watch::Sender<bool>,
    /// Admission of store queries per client address and guild.
    pub queries: Arc<QueryLimiter>,
    /// Admission of `/api/` requests and websocket connection attempts per client address.
    pub clients: ClientLimiter,
    /// Keeps the state listener registered as long as the API exists.
    _listening: Listening,
}

impl Shared {
    pub fn new(ctx: ApiContext) -> Arc<Self> {
        let rooms = Arc::new(Rooms::default());
        let listener_rooms = Arc::clone(&rooms);
        let listening = ctx
            .state
            .listen(move |event| listener_rooms.dispatch(event));
        if let Some(admin) = &ctx.admin {
            // Weak: the admin plane outlives a server (tests start several over one plane).
            let rooms = Arc::downgrade(&rooms);
            admin.on_moderation(Arc::new(move |entry| {
                if let Some(rooms) = rooms.upgrade() {
                    let frame = serde_json::json!({ "type": "moderation", "entry": entry });
                    rooms.moderation(entry.guild_id.get(), frame.to_string().into());
                }
            }));
        }
        let queries = Arc::new(QueryLimiter::new(&ctx.config));
        Arc::new(Shared {
            queries,
            clients: ClientLimiter::new(&ctx.config),
            ctx,
            metrics: ServerMetrics::default(),
            rooms,
            shutdown: watch::channel(false).0,
            _listening: listening,
        })
    }
}

impl Shared {
    /// Admits a request of `remote` for `path`, or the 429 to answer. Only `/api/` is
    /// limited: `/metrics` and `/health` must keep answering a server under load.
    pub fn admit_request(
        &self,
        path: &str,
        remote: Option<SocketAddr>,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<(), Problem> {
        let kind = if path == "/auth" || path.starts_with("/auth/") {
            RequestKind::Login
        } else if path == "/api" || path.starts_with("/api/") {
            if Route::classify(path) == Route::Live {
                RequestKind::Connect
            } else {
                RequestKind::Api
            }
        } else {
            return Ok(());
        };
        let user = if kind == RequestKind::Login {
            None
        } else {
            self.caller(headers)
        };
        self.clients
            .admit(remote.map(|a| a.ip()), user, kind, now)
            .map_err(|refused| {
                let (what, whom) = match refused.scope {
                    "connections" => ("websocket connection attempts", "from this address"),
                    "user connections" => ("websocket connection attempts", "by this user"),
                    "logins" => ("logins", "from this address"),
                    "user" => ("requests", "by this user"),
                    _ => ("requests", "from this address"),
                };
                Problem::rate_limited(
                    format!(
                        "too many {what} {whom}; retry in {} s",
                        refused.retry_after_secs
                    ),
                    refused.retry_after_secs,
                )
            })
    }

    /// The signed-in user of a request (authentication on, valid credential), for the
    /// per-user budgets.
    pub fn caller(&self, headers: &HeaderMap) -> Option<u64> {
        let auth = self.ctx.auth.as_ref()?;
        auth.authenticate(headers).ok().map(|p| p.user)
    }

    /// Admits a store query (SQL or windowed leaderboard) of `remote` over `guild`, or the
    /// 429 to answer. Hold the permit until the query is done.
    pub fn admit_query(&self, client: Client, guild: u64, now: Instant) -> Result<Permit, Problem> {
        self.queries
            .admit(client.addr.map(|a| a.ip()), client.user, guild, now)
            .map_err(|refused| {
                let whose = match refused.scope {
                    "guild" => "over this guild",
                    "user" => "by this user",
                    _ => "from this address",
                };
                Problem::rate_limited(
                    format!(
                        "too many store queries {whose}; retry in {} s",
                        refused.retry_after_secs
                    ),
                    refused.retry_after_secs,
                )
            })
    }
}
