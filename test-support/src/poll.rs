//! Polling until a check holds (edge: sleeps on the tokio clock, so paused-time tests run
//! instantly). A check returns `bool` (holds or not) or `Option<T>` (the value once it holds).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long [`eventually`] waits.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// How often [`eventually`] and [`eventually_within`] check.
pub const PERIOD: Duration = Duration::from_millis(50);

/// What a check returns: whether it holds, and what it found then.
pub trait Check {
    /// What [`eventually`] returns once the check holds.
    type Found;
    /// `Some` once the check holds.
    fn found(self) -> Option<Self::Found>;
}

impl Check for bool {
    type Found = ();
    fn found(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Check for Option<T> {
    type Found = T;
    fn found(self) -> Option<T> {
        self
    }
}

/// Runs `check` every `period` until it holds; `None` once `timeout` passed without it.
pub async fn poll<C: Check, F: Future<Output = C>>(
    timeout: Duration,
    period: Duration,
    mut check: impl FnMut() -> F,
) -> Option<C::Found> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check().await.found() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(period).await;
    }
}

/// Polls `check` every 50 ms until it holds, for up to 15 s; panics with `what` after that.
pub async fn eventually<C: Check, F: Future<Output = C>>(
    what: &str,
    check: impl FnMut() -> F,
) -> C::Found {
    eventually_within(what, DEFAULT_TIMEOUT, check).await
}

/// Polls `check` every 50 ms until it holds, for up to `timeout`; panics with `what` after that.
pub async fn eventually_within<C: Check, F: Future<Output = C>>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> F,
) -> C::Found {
    match poll(timeout, PERIOD, check).await {
        Some(found) => found,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn returns_what_the_check_found_once_it_holds() {
        let mut calls = 0;
        let found = eventually("the third call", || {
            calls += 1;
            let n = calls;
            async move { (n == 3).then_some(n * 10) }
        })
        .await;
        assert_eq!(found, 30);
        let mut checks = 0;
        eventually_within("a bool check", Duration::from_secs(1), || {
            checks += 1;
            let n = checks;
            async move { n == 2 }
        })
        .await;
        assert_eq!(checks, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_timeout() {
        let start = Instant::now();
        let found = poll(Duration::from_secs(1), PERIOD, || async { false }).await;
        assert_eq!(found, None);
        assert!(start.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out after 1s waiting for nothing")]
    async fn panics_with_what_it_waited_for() {
        eventually_within("nothing", Duration::from_secs(1), || async { None::<()> }).await;
    }
}
