//! A token bucket (pure: the caller passes the current instant), shared by the updater's
//! eviction limiter and the clients' `--kube-api-qps` throttle.
//!
//! Semantics follow Go's `rate.Limiter`: the bucket holds at most `burst` tokens and refills at
//! `per_second` tokens per second; a rate <= 0 means unlimited. A request that would have to
//! wait past the caller's deadline takes no token.

use std::time::Duration;

use tokio::time::Instant;

/// A rate: `per_second` tokens per second, at most `burst` at once. `per_second <= 0` disables
/// limiting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size (at least 1 when limiting).
    pub burst: u32,
}

impl Rate {
    /// Whether this rate limits anything.
    pub fn is_limited(&self) -> bool {
        self.per_second > 0.0
    }
}

/// The pure token bucket.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self {
            rate,
            tokens: f64::from(rate.burst.max(1)),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.updated).as_secs_f64();
        let cap = f64::from(self.rate.burst.max(1));
        self.tokens = (self.tokens + secs * self.rate.per_second).min(cap);
        self.updated = self.updated.max(now);
    }

    /// Takes one token if it becomes available by `deadline` and returns how long to wait for it
    /// (zero when available now); `None` when it would arrive too late, in which case nothing is
    /// taken.
    pub fn reserve(&mut self, now: Instant, deadline: Option<Instant>) -> Option<Duration> {
        if !self.rate.is_limited() {
            return Some(Duration::ZERO);
        }
        self.refill(now);
        let missing = (1.0 - self.tokens).max(0.0);
        let wait = Duration::from_secs_f64(missing / self.rate.per_second);
        if deadline.is_some_and(|d| now + wait > d) {
            return None;
        }
        self.tokens -= 1.0;
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn burst_is_free_then_tokens_come_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Rate {
                per_second: 2.0,
                burst: 3,
            },
            t0,
        );
        for _ in 0..3 {
            assert_eq!(b.reserve(t0, None), Some(Duration::ZERO));
        }
        assert_eq!(b.reserve(t0, None), Some(secs(0.5)));
        assert_eq!(b.reserve(t0, None), Some(secs(1.0)));
        // After the queue drains the bucket refills up to the burst only.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(b.reserve(later, None), Some(Duration::ZERO));
        }
        assert_eq!(b.reserve(later, None), Some(secs(0.5)));
    }

    #[test]
    fn a_token_past_the_deadline_is_refused_without_being_taken() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Rate {
                per_second: 0.1,
                burst: 1,
            },
            t0,
        );
        let deadline = Some(t0 + Duration::from_secs(5));
        assert_eq!(b.reserve(t0, deadline), Some(Duration::ZERO));
        assert_eq!(b.reserve(t0, deadline), None);
        // The refused request took nothing: one full token is back after 10 s.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.reserve(later, Some(later)), Some(Duration::ZERO));
    }

    #[test]
    fn non_positive_rate_is_unlimited() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            Rate {
                per_second: -1.0,
                burst: 1,
            },
            t0,
        );
        for _ in 0..1000 {
            assert_eq!(b.reserve(t0, Some(t0)), Some(Duration::ZERO));
        }
    }
}
