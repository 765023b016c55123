//! Metrics of the API itself: request latency per route, websocket clients and drops.

use super::histogram::{Histogram, HTTP_BUCKETS};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A route template, the `route` label (templates, not paths: ids must not become labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `/api/guilds/{guild}/leaderboard`, live periods.
    Leaderboard,
    /// `/api/guilds/{guild}/leaderboard` over a store window (`period=7d`, `at`, `from`/`to`):
    /// a query, not a live read, so it has its own latency series.
    LeaderboardWindow,
    /// `/api/guilds/{guild}/members/{user}/stats`.
    MemberStats,
    /// `/api/guilds/{guild}/stats`.
    GuildStats,
    /// `/api/guilds/{guild}/live` (the upgrade only).
    Live,
    /// `POST /api/guilds/{guild}/sql`.
    Sql,
    /// `/api/openapi.json`.
    OpenApi,
    /// `/health`.
    Health,
    /// `/metrics`.
    Metrics,
    /// The admin plane's routes (settings, automod, warnings, logs, opt-outs, erase) and
    /// `GET /api/guilds`.
    Admin,
    /// Anything else (404s).
    Other,
}

impl Route {
    /// Every route, in label order.
    pub const ALL: [Route; 11] = [
        Route::Leaderboard,
        Route::LeaderboardWindow,
        Route::MemberStats,
        Route::GuildStats,
        Route::Live,
        Route::Sql,
        Route::OpenApi,
        Route::Health,
        Route::Metrics,
        Route::Admin,
        Route::Other,
    ];

    /// The label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Route::Leaderboard => "leaderboard",
            Route::LeaderboardWindow => "leaderboard_window",
            Route::MemberStats => "member_stats",
            Route::GuildStats => "guild_stats",
            Route::Live => "live",
            Route::Sql => "sql",
            Route::OpenApi => "openapi",
            Route::Health => "health",
            Route::Metrics => "metrics",
            Route::Admin => "admin",
            Route::Other => "other",
        }
    }

    /// The route of a request path (by shape; the id segments are not validated here).
    /// Handlers may name a finer one by putting a `Route` in the response's extensions.
    pub fn classify(path: &str) -> Route {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["api", "guilds", _, "leaderboard"] => Route::Leaderboard,
            ["api", "guilds", _, "members", _, "stats"] => Route::MemberStats,
            ["api", "guilds", _, "stats"] => Route::GuildStats,
            ["api", "guilds", _, "live"] => Route::Live,
            ["api", "guilds", _, "sql"] => Route::Sql,
            ["api", "openapi.json"] => Route::OpenApi,
            ["health"] => Route::Health,
            ["metrics"] => Route::Metrics,
            ["api", "guilds"] => Route::Admin,
            ["api", "guilds", _, rest @ ..]
                if crate::handlers::admin::Op::recognize(&rest.join("/")).is_some() =>
            {
                Route::Admin
            }
            _ => Route::Other,
        }
    }
}

/// Why a websocket client was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsDrop {
    /// Its send queue filled up.
    SlowClient,
    /// A frame could not be written in time.
    SendTimeout,
    /// It sent a message over the size limit.
    MessageTooLarge,
    /// It kept sending over the rate limit.
    RateLimited,
}

impl WsDrop {
    const ALL: [WsDrop; 4] = [
        WsDrop::SlowClient,
        WsDrop::SendTimeout,
        WsDrop::MessageTooLarge,
        WsDrop::RateLimited,
    ];

    /// The `reason` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            WsDrop::SlowClient => "slow_client",
            WsDrop::SendTimeout => "send_timeout",
            WsDrop::MessageTooLarge => "message_too_large",
            WsDrop::RateLimited => "rate_limited",
        }
    }
}

/// Metrics of one API server.
#[derive(Debug)]
pub struct ServerMetrics {
    http: [Histogram; Route::ALL.len()],
    responses: Mutex<BTreeMap<(Route, u16), u64>>,
    ws_clients: AtomicU64,
    ws_frames: [AtomicU64; 3],
    ws_drops: [AtomicU64; WsDrop::ALL.len()],
}

impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics {
            http: std::array::from_fn(|_| Histogram::new(HTTP_BUCKETS)),
            responses: Mutex::new(BTreeMap::new()),
            ws_clients: AtomicU64::new(0),
            ws_frames: std::array::from_fn(|_| AtomicU64::new(0)),
            ws_drops: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Websocket frame types sent, the `type` label.
pub(crate) const WS_FRAME_TYPES: [&str; 3] = ["leaderboard", "activity", "error"];

impl ServerMetrics {
    /// Records a finished HTTP request.
    pub fn observe_request(&self, route: Route, status: u16, elapsed: Duration) {
        if let Some(histogram) = self.http.get(route as usize) {
            histogram.observe(elapsed);
        }
        *self
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route, status))
            .or_insert(0) += 1;
    }

    /// Connected websocket clients.
    pub fn ws_clients(&self) -> u64 {
        self.ws_clients.load(Ordering::Relaxed)
    }

    pub(crate) fn ws_connected(&self) {
        self.ws_clients.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ws_disconnected(&self) {
        self.ws_clients.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn ws_frame(&self, kind: &str) {
        if let Some(i) = WS_FRAME_TYPES.iter().position(|t| *t == kind) {
            self.ws_frames[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn ws_dropped(&self, reason: WsDrop) {
        self.ws_drops[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Clients dropped for `reason`.
    pub fn ws_drops(&self, reason: WsDrop) -> u64 {
        self.ws_drops[reason as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str("# HELP guildflow_http_request_duration_seconds Time to answer an HTTP request, by route template.\n");
        out.push_str("# TYPE guildflow_http_request_duration_seconds histogram\n");
        for route in Route::ALL {
            self.http[route as usize].render(
                out,
                "guildflow_http_request_duration_seconds",
                &format!("route=\"{}\"", route.as_str()),
            );
        }
        out.push_str("# HELP guildflow_http_requests_total HTTP responses, by route template and status code.\n");
        out.push_str("# TYPE guildflow_http_requests_total counter\n");
        for ((route, status), n) in self
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "guildflow_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                route.as_str()
            );
        }
        out.push_str(
            "# HELP guildflow_websocket_clients Connected live-leaderboard websocket clients.\n",
        );
        out.push_str("# TYPE guildflow_websocket_clients gauge\n");
        let _ = writeln!(out, "guildflow_websocket_clients {}", self.ws_clients());
        out.push_str(
            "# HELP guildflow_websocket_frames_total Frames queued to websocket clients, by type.\n",
        );
        out.push_str("# TYPE guildflow_websocket_frames_total counter\n");
        for (i, kind) in WS_FRAME_TYPES.iter().enumerate() {
            let _ = writeln!(
                out,
                "guildflow_websocket_frames_total{{type=\"{kind}\"}} {}",
                self.ws_frames[i].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP guildflow_websocket_dropped_total Websocket clients dropped by the server, by reason.\n");
        out.push_str("# TYPE guildflow_websocket_dropped_total counter\n");
        for reason in WsDrop::ALL {
            let _ = writeln!(
                out,
                "guildflow_websocket_dropped_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.ws_drops(reason)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn classify() {
        assert_eq!(
            Route::classify("/api/guilds/1/leaderboard"),
            Route::Leaderboard
        );
        assert_eq!(
            Route::classify("/api/guilds/x/members/2/stats"),
            Route::MemberStats
        );
        assert_eq!(Route::classify("/api/guilds/1/stats"), Route::GuildStats);
        assert_eq!(Route::classify("/api/guilds/1/live"), Route::Live);
        assert_eq!(Route::classify("/api/guilds/1/sql"), Route::Sql);
        assert_eq!(Route::classify("/api/openapi.json"), Route::OpenApi);
        assert_eq!(Route::classify("/health"), Route::Health);
        assert_eq!(Route::classify("/metrics"), Route::Metrics);
        assert_eq!(Route::classify("/api/guilds/1/other"), Route::Other);
    }
}
