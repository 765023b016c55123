//! Discord's per-route rate limits: a fixed-window bucket per (route, major id), reported in
//! the `X-RateLimit-*` headers of every response and enforced with 429s.

use super::routes::RestRoute;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A bucket's size: `limit` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length, from the first request of the window.
    pub window: Duration,
}

impl Default for RateLimit {
    /// Generous enough that tests and `demo` only meet 429s they ask for.
    fn default() -> Self {
        RateLimit {
            limit: 50,
            window: Duration::from_secs(1),
        }
    }
}

/// What the bucket says about one request.
pub(crate) struct Verdict {
    /// Headers to add to the response, whatever its status.
    pub headers: HeaderMap,
    /// `Some(retry_after seconds)` when the request must get a 429.
    pub limited: Option<f64>,
}

struct Bucket {
    remaining: u32,
    reset_at: Instant,
}

/// The buckets of every (route, major id).
pub(crate) struct Buckets {
    default: RateLimit,
    limits: Mutex<HashMap<RestRoute, RateLimit>>,
    state: Mutex<HashMap<(RestRoute, u64), Bucket>>,
}

impl Buckets {
    pub fn new(default: RateLimit, limits: HashMap<RestRoute, RateLimit>) -> Self {
        Buckets {
            default,
            limits: Mutex::new(limits),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Changes a route's limit; its open windows restart.
    pub fn set(&self, route: RestRoute, limit: RateLimit) {
        self.limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(route, limit);
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(r, _), _| *r != route);
    }

    /// Takes one request from the bucket of (`route`, `major`).
    pub fn take(&self, route: RestRoute, major: u64) -> Verdict {
        let limit = self
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&route)
            .copied()
            .unwrap_or(self.default);
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = state.entry((route, major)).or_insert(Bucket {
            remaining: limit.limit,
            reset_at: now + limit.window,
        });
        if now >= bucket.reset_at {
            bucket.remaining = limit.limit;
            bucket.reset_at = now + limit.window;
        }
        let limited = if bucket.remaining == 0 {
            Some(bucket.reset_at.saturating_duration_since(now).as_secs_f64())
        } else {
            bucket.remaining -= 1;
            None
        };
        let reset_after = bucket.reset_at.saturating_duration_since(now).as_secs_f64();
        let headers = headers(route, limit.limit, bucket.remaining, reset_after, limited);
        Verdict { headers, limited }
    }
}

/// The opaque bucket id of a route; Discord's are hashes shared by every major id.
pub(crate) fn bucket_id(route: RestRoute) -> String {
    // FNV-1a: stable across runs, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in route.template().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn headers(
    route: RestRoute,
    limit: u32,
    remaining: u32,
    reset_after: f64,
    limited: Option<f64>,
) -> HeaderMap {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let mut h = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-ratelimit-limit", limit.to_string());
    put("x-ratelimit-remaining", remaining.to_string());
    put("x-ratelimit-reset", format!("{:.3}", epoch + reset_after));
    put("x-ratelimit-reset-after", format!("{reset_after:.3}"));
    put("x-ratelimit-bucket", bucket_id(route));
    // twilight-http only reads the bucket headers when a scope is present.
    put("x-ratelimit-scope", "user".to_owned());
    if let Some(retry) = limited {
        put("x-ratelimit-global", "false".to_owned());
        if let Ok(v) = HeaderValue::from_str(&(retry.ceil() as u64).to_string()) {
            h.insert(RETRY_AFTER, v);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_per_major_and_resets() {
        let b = Buckets::new(
            RateLimit {
                limit: 2,
                window: Duration::from_millis(50),
            },
            HashMap::new(),
        );
        assert!(b.take(RestRoute::RemoveMember, 1).limited.is_none());
        assert!(b.take(RestRoute::RemoveMember, 1).limited.is_none());
        let third = b.take(RestRoute::RemoveMember, 1);
        assert!(third.limited.is_some());
        assert_eq!(third.headers["x-ratelimit-remaining"], "0");
        assert!(third.headers.contains_key(RETRY_AFTER));
        assert!(b.take(RestRoute::RemoveMember, 2).limited.is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.take(RestRoute::RemoveMember, 1).limited.is_none());
    }
}
