//! What the API reads from the rest of the process, and its limits.

use crate::auth::AuthConfig;
use crate::metrics::PipelineMetrics;
use guildflow_dataflow::state::StatsState;
use guildflow_queries::GuildSql;
use guildflow_shards::decode::DecodeCounters;
use guildflow_shards::registry::ShardRegistry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether the process is ready to serve (`/health` answers 503 until it is). Replay marks it
/// ready once the whole file is processed; live commands are ready from the start.
#[derive(Clone, Debug)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Ready from the start.
    pub fn ready() -> Self {
        Readiness(Arc::new(AtomicBool::new(true)))
    }

    /// Not ready until [`Readiness::mark_ready`].
    pub fn pending() -> Self {
        Readiness(Arc::new(AtomicBool::new(false)))
    }

    /// Marks the process ready (idempotent; every clone sees it).
    pub fn mark_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether it is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::ready()
    }
}

/// A token bucket's budget: `per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: f64,
    /// Tokens at most (a full bucket).
    pub burst: f64,
}

/// Limits and pacing of the API. The defaults are the documented production values
/// (docs/API.md); tests shrink some to provoke the limits quickly.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body accepted (every current route is a GET, so this only bounds what a
    /// client can make the server read).
    pub max_body_bytes: u64,
    /// Rows of a whole-leaderboard CSV export at most.
    pub max_export_rows: usize,
    /// Largest websocket message (and frame) a client may send.
    pub ws_max_message_bytes: usize,
    /// Frames queued for one websocket client before it counts as too slow and is dropped.
    pub ws_queue: usize,
    /// Minimum spacing of the leaderboard frames of one client (bursts are coalesced).
    pub ws_coalesce: Duration,
    /// A frame that cannot be written within this time drops the client.
    pub ws_send_timeout: Duration,
    /// Websocket clients at most (more are answered 503).
    pub ws_max_clients: usize,
    /// Messages per second a client may send, sustained.
    pub ws_messages_per_second: f64,
    /// Messages a client may send in a burst.
    pub ws_message_burst: f64,
    /// Level-ups buffered per client between two flushes (older ones are counted as missed).
    pub ws_activity_buffer: usize,
    /// Largest body of `POST /sql` (the SQL text cap plus room for JSON escaping); the
    /// general [`ApiConfig::max_body_bytes`] does not apply to that route.
    pub sql_max_body_bytes: u64,
    /// Store queries (SQL, windowed leaderboards) per second one client address may start,
    /// sustained (IPv6 addresses count per /64).
    pub sql_ip_per_second: f64,
    /// Store queries one client address may start in a burst.
    pub sql_ip_burst: f64,
    /// Store queries per second over one guild, whoever asks, sustained.
    pub sql_guild_per_second: f64,
    /// Store queries over one guild in a burst.
    pub sql_guild_burst: f64,
    /// Store queries of one client address running at once.
    pub sql_ip_in_flight: u32,
    /// Store queries over one guild running at once.
    pub sql_guild_in_flight: u32,
    /// Store queries per second one signed-in user may start, sustained, whatever address
    /// they come from (with authentication on).
    pub sql_user_per_second: f64,
    /// Store queries one user may start in a burst.
    pub sql_user_burst: f64,
    /// Store queries of one user running at once.
    pub sql_user_in_flight: u32,
    /// Addresses and guilds the query limiter tracks at most; idle ones are forgotten first,
    /// and when every tracked one is busy a new one is refused (429).
    pub sql_limiter_keys: usize,
    /// Requests per client address (IPv6: per /64) on every `/api/` route, whatever the
    /// route (`/metrics` and `/health` are exempt); None: unlimited (benchmarks driving one
    /// server from one address).
    pub client_rate: Option<RateLimit>,
    /// Websocket connection attempts per client address, on top of [`ApiConfig::client_rate`]
    /// (a reconnect loop costs a session each time, not one read); None: unlimited.
    pub ws_connect_rate: Option<RateLimit>,
    /// Requests per signed-in user (session or token) on every `/api/` route, on top of the
    /// per-address budget (a user spreading requests over many addresses); None: unlimited.
    pub user_rate: Option<RateLimit>,
    /// Websocket connection attempts per signed-in user; None: unlimited.
    pub ws_user_connect_rate: Option<RateLimit>,
    /// Requests per client address to `/auth/*` (login, callback, logout): each login costs a
    /// round trip to Discord, so it has a budget of its own; None: unlimited.
    pub login_rate: Option<RateLimit>,
    /// Addresses the request limiter tracks at most (per budget); idle ones are forgotten
    /// first, and when every tracked one is busy a new one is refused (429).
    pub client_limiter_keys: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 16 * 1024,
            max_export_rows: 1_000_000,
            ws_max_message_bytes: 4 * 1024,
            ws_queue: 64,
            ws_coalesce: Duration::from_millis(50),
            ws_send_timeout: Duration::from_secs(10),
            ws_max_clients: 20_000,
            ws_messages_per_second: 10.0,
            ws_message_burst: 20.0,
            ws_activity_buffer: 100,
            sql_max_body_bytes: 128 * 1024,
            sql_ip_per_second: 1.0,
            sql_ip_burst: 10.0,
            sql_guild_per_second: 2.0,
            sql_guild_burst: 20.0,
            sql_ip_in_flight: 2,
            sql_guild_in_flight: 4,
            sql_user_per_second: 1.0,
            sql_user_burst: 10.0,
            sql_user_in_flight: 2,
            sql_limiter_keys: 100_000,
            client_rate: Some(RateLimit {
                per_second: 50.0,
                burst: 100.0,
            }),
            ws_connect_rate: Some(RateLimit {
                per_second: 2.0,
                burst: 20.0,
            }),
            user_rate: Some(RateLimit {
                per_second: 50.0,
                burst: 100.0,
            }),
            ws_user_connect_rate: Some(RateLimit {
                per_second: 2.0,
                burst: 20.0,
            }),
            login_rate: Some(RateLimit {
                per_second: 0.5,
                burst: 10.0,
            }),
            client_limiter_keys: 100_000,
        }
    }
}

/// Handles on everything the API serves. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ApiContext {
    /// The published statistics.
    pub state: StatsState,
    /// Shard states (`run`, `demo`); None when replaying.
    pub registry: Option<ShardRegistry>,
    /// Decode outcomes of the ingest.
    pub decode: Arc<DecodeCounters>,
    /// `/health` readiness.
    pub readiness: Readiness,
    /// Counters the pipeline updates.
    pub metrics: PipelineMetrics,
    /// Limits.
    pub config: ApiConfig,
    /// The store's query service (ad hoc SQL, windowed leaderboards); None answers those
    /// routes 503 `sql_unavailable`.
    pub sql: Option<Arc<GuildSql>>,
    /// Authentication and per-guild authorization (docs/SECURITY.md); None serves every
    /// route to anyone, as before authentication existed.
    pub auth: Option<Arc<AuthConfig>>,
    /// The admin plane (settings, automod rules, warnings, logs); None answers those routes
    /// 503 `admin_unavailable`.
    pub admin: Option<guildflow_admin::AdminPlane>,
    /// Guild state for names (`/names`, `/api/guilds`) when authentication is off (with it,
    /// its own directory serves).
    pub directory: Option<crate::PermissionDirectory>,
}

impl ApiContext {
    /// A context over `state`, ready, with fresh counters, no registry and default limits.
    pub fn new(state: StatsState) -> Self {
        ApiContext {
            state,
            registry: None,
            decode: Arc::default(),
            readiness: Readiness::ready(),
            metrics: PipelineMetrics::new(),
            config: ApiConfig::default(),
            sql: None,
            auth: None,
            admin: None,
            directory: None,
        }
    }

    /// With a shard registry (shown by `/health` and `/metrics`).
    pub fn with_registry(mut self, registry: ShardRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// With the ingest's decode counters.
    pub fn with_decode_counters(mut self, decode: Arc<DecodeCounters>) -> Self {
        self.decode = decode;
        self
    }

    /// With a readiness flag (replay: [`Readiness::pending`], marked after the file).
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// With the pipeline's metrics.
    pub fn with_metrics(mut self, metrics: PipelineMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Without per-client request and connection limits: for benchmarks that drive one
    /// server from a single address (never in production).
    pub fn without_client_limits(mut self) -> Self {
        self.config.client_rate = None;
        self.config.ws_connect_rate = None;
        self.config.user_rate = None;
        self.config.ws_user_connect_rate = None;
        self.config.login_rate = None;
        self
    }

    /// With other limits.
    pub fn with_config(mut self, config: ApiConfig) -> Self {
        self.config = config;
        self
    }

    /// With the store's query service: enables `POST /api/guilds/{guild}/sql` and the
    /// leaderboard's historical and rolling windows. Takes a `GuildSql` or an
    /// `Arc<GuildSql>` shared with other users.
    pub fn with_sql(mut self, sql: impl Into<Arc<GuildSql>>) -> Self {
        self.sql = Some(sql.into());
        self
    }

    /// With the guild state the binary feeds (names of members and channels).
    pub fn with_directory(mut self, directory: crate::PermissionDirectory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// With the admin plane: settings, automod rules, warnings, moderation and audit logs,
    /// opt-outs (docs/MODERATION.md); moderation entries reach the websocket rooms.
    pub fn with_admin(mut self, admin: guildflow_admin::AdminPlane) -> Self {
        self.admin = Some(admin);
        self
    }

    /// With authentication: `/auth/login`, `/auth/callback`, `/auth/logout` and `/api/me`
    /// appear, and every `/api/guilds/{guild}/` route needs a session or API token of a
    /// user who administers the guild (docs/SECURITY.md). Keep the config's
    /// `directory` fed with the gateway events.
    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }
}
