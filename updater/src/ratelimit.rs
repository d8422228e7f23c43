//! Token-bucket rate limiting of evictions and in-place resizes.
//!
//! [`TokenBucket`] (in `vpa_common`) is pure; [`Limiter`] wraps it for async code and sleeps
//! with `tokio::time`, so tests with paused time run instantly. A request that would have to
//! wait past the caller's deadline takes no token and fails, so one loop never blocks the next.

use tokio::sync::Mutex;
use tokio::time::Instant;

pub use vpa_common::token_bucket::{Rate, TokenBucket};

/// Why a limiter wait failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// The next token would arrive after the deadline.
    #[error("rate limiter wait would exceed the deadline")]
    WouldExceedDeadline,
}

/// An async token bucket shared by the executor.
#[derive(Debug)]
pub struct Limiter {
    bucket: Mutex<TokenBucket>,
}

impl Limiter {
    /// A limiter with a full bucket.
    pub fn new(rate: Rate) -> Self {
        Self {
            bucket: Mutex::new(TokenBucket::new(rate, Instant::now())),
        }
    }

    /// Waits for a token, failing at once when it would arrive after `deadline`.
    pub async fn wait(&self, deadline: Option<Instant>) -> Result<(), WaitError> {
        let wait = self
            .bucket
            .lock()
            .await
            .reserve(Instant::now(), deadline)
            .ok_or(WaitError::WouldExceedDeadline)?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn limiter_sleeps_between_tokens() {
        let limiter = Limiter::new(Rate {
            per_second: 1.0,
            burst: 1,
        });
        let start = Instant::now();
        for _ in 0..5 {
            limiter.wait(None).await.unwrap();
        }
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(4));
    }
}
