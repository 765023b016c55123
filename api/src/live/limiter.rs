//! A token bucket for client messages.

use std::time::Instant;

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
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
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
}
