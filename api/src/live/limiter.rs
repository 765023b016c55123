//! A token bucket, for websocket client messages and store queries.

use std::time::{Duration, Instant};

/// Allows `rate` messages per second on average and `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        TokenBucket {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.wait(now).is_none() {
            self.take();
            true
        } else {
            false
        }
    }

    /// Refills up to `now`; None when a token is available (not taken: a caller checking
    /// several buckets takes from each only once all allow it), else the wait for one.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            None
        } else if self.rate > 0.0 {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        } else {
            Some(Duration::MAX)
        }
    }

    /// Takes a token (after [`TokenBucket::wait`] said there is one).
    pub fn take(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Whether the bucket is full as of its last refill (its owner is idle and may be
    /// forgotten: a new bucket would be the same).
    pub fn is_full(&self) -> bool {
        self.tokens >= self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;
    use std::time::{Duration, Instant};

    #[test]
    fn bursts_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3.0);
        assert!((0..3).all(|_| bucket.allow(start)));
        assert!(!bucket.allow(start));
        assert!(bucket.allow(start + Duration::from_millis(100)));
        assert!(!bucket.allow(start + Duration::from_millis(100)));
    }

    #[test]
    fn wait_tells_how_long() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 1.0);
        assert_eq!(bucket.wait(start), None);
        bucket.take();
        let wait = bucket.wait(start).unwrap();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(!bucket.is_full());
        assert_eq!(bucket.wait(start + Duration::from_secs(1)), None);
        assert!(bucket.is_full());
    }
}
