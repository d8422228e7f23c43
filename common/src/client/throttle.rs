//! Client-side request throttling (`--kube-api-qps`, `--kube-api-burst`): the tower layer that
//! holds each request until its token of a [`TokenBucket`] is due, as client-go's limiter does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::time::Instant;
use tower::{Layer, Service};

use crate::token_bucket::{Rate, TokenBucket};

/// The limit upstream's flags ask for: none when `--kube-api-qps` is absent, zero or negative
/// (client-go also turns its limiter off for a negative QPS); otherwise `qps` requests per second
/// with bursts of `burst`.
pub fn throttle_from_flags(qps: Option<f64>, burst: u32) -> Option<Rate> {
    qps.filter(|q| q.is_finite() && *q > 0.0)
        .map(|per_second| Rate { per_second, burst })
}

/// Puts a request [`Rate`] in front of a service: [`Throttled::poll_ready`] is not ready until
/// the next request's token is due. kube's client calls its stack from one buffer worker, so
/// requests queue there in order while they wait.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleLayer(pub Rate);

impl<S> Layer<S> for ThrottleLayer {
    type Service = Throttled<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Throttled {
            inner,
            bucket: TokenBucket::new(self.0, Instant::now()),
            reserved: false,
            wait: None,
        }
    }
}

/// A service behind a [`ThrottleLayer`].
pub struct Throttled<S> {
    inner: S,
    bucket: TokenBucket,
    /// A token is taken for the next call.
    reserved: bool,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S, R> Service<R> for Throttled<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if !self.reserved {
            self.reserved = true;
            let now = Instant::now();
            // Without a deadline a token is always given.
            let wait = self.bucket.reserve(now, None).unwrap_or_default();
            if !wait.is_zero() {
                self.wait = Some(Box::pin(tokio::time::sleep_until(now + wait)));
            }
        }
        if let Some(sleep) = self.wait.as_mut() {
            ready!(sleep.as_mut().poll(cx));
            self.wait = None;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.reserved = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_turn_the_limit_on_only_for_a_positive_qps() {
        assert_eq!(throttle_from_flags(None, 100), None);
        assert_eq!(throttle_from_flags(Some(0.0), 100), None);
        assert_eq!(throttle_from_flags(Some(-1.0), 100), None);
        assert_eq!(throttle_from_flags(Some(f64::NAN), 100), None);
        assert_eq!(
            throttle_from_flags(Some(50.0), 100),
            Some(Rate {
                per_second: 50.0,
                burst: 100
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_layer_holds_requests_until_their_token_is_due() {
        use tower::ServiceExt;

        let rate = Rate {
            per_second: 4.0,
            burst: 2,
        };
        let mut service = ThrottleLayer(rate).layer(tower::service_fn(|n: u32| async move {
            Ok::<_, std::convert::Infallible>((n, Instant::now()))
        }));
        let start = Instant::now();
        let mut sent = Vec::new();
        for n in 0..5 {
            let (echo, at) = service.ready().await.unwrap().call(n).await.unwrap();
            sent.push((echo, at.duration_since(start).as_millis()));
        }
        assert_eq!(sent, [(0, 0), (1, 0), (2, 250), (3, 500), (4, 750)]);
    }
}
