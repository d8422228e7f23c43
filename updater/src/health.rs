//! Loop liveness for `/healthz`: the loop marks each run; the process is unhealthy when no loop
//! ran for 5 × `--updater-interval`, as upstream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How many intervals without a loop make the updater unhealthy.
pub const STALE_INTERVALS: u32 = 5;

/// Shared record of the last loop (cheap to clone).
#[derive(Clone, Debug)]
pub struct Health {
    last_loop: Arc<Mutex<Instant>>,
    timeout: Duration,
}

impl Health {
    /// A health record that starts healthy now and goes stale after 5 × `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            last_loop: Arc::new(Mutex::new(Instant::now())),
            timeout: interval * STALE_INTERVALS,
        }
    }

    /// Marks a loop run at `now`.
    pub fn mark(&self, now: Instant) {
        *self.last_loop.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    /// Whether a loop ran within the timeout before `now`.
    pub fn is_healthy(&self, now: Instant) -> bool {
        let last = *self.last_loop.lock().unwrap_or_else(|e| e.into_inner());
        now.saturating_duration_since(last) <= self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn unhealthy_after_five_intervals_without_a_loop() {
        let health = Health::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(health.is_healthy(start + Duration::from_secs(300)));
        assert!(!health.is_healthy(start + Duration::from_secs(301)));
        health.mark(start + Duration::from_secs(290));
        assert!(health.is_healthy(start + Duration::from_secs(500)));
    }
}
