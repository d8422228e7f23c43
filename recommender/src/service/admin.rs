//! The plain-HTTP admin server (edge): `/healthz` (and upstream's `/health-check`), failing once
//! the loop stalls for 5 intervals, and `/metrics` in the Prometheus text format.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

/// Intervals without a loop after which the recommender is unhealthy, as upstream.
pub const STALE_INTERVALS: u32 = 5;

/// Loop liveness shared between the loop and `/healthz` (cheap to clone). Healthy until the
/// loop starts (a standby replica waiting for leadership is healthy), then while a loop
/// finished within 5 intervals.
#[derive(Clone, Debug)]
pub struct Health {
    last_loop: Arc<Mutex<Option<Instant>>>,
    timeout: Duration,
}

impl Health {
    /// Liveness for a loop running every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            last_loop: Arc::default(),
            timeout: interval * STALE_INTERVALS,
        }
    }

    /// Marks loop activity at `now` (also called when the loop starts).
    pub fn mark(&self, now: Instant) {
        *self.last_loop.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    }

    /// Whether the loop has not started yet or was active within the timeout before `now`.
    pub fn is_healthy(&self, now: Instant) -> bool {
        match *self.last_loop.lock().unwrap_or_else(|e| e.into_inner()) {
            None => true,
            Some(last) => now.saturating_duration_since(last) <= self.timeout,
        }
    }
}

#[derive(Clone)]
struct AdminState {
    registry: Arc<Registry>,
    health: Health,
}

/// The admin routes.
pub fn router(registry: Arc<Registry>, health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/health-check", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(AdminState { registry, health })
}

async fn healthz(State(state): State<AdminState>) -> Response {
    if state.health.is_healthy(Instant::now()) {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no recommender loop for 5 intervals",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Parses Go-style listen addresses: `:8942` means every interface.
pub fn listen_address(address: &str) -> Result<SocketAddr, std::net::AddrParseError> {
    match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}").parse(),
        None => address.parse(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn healthy_until_the_loop_stalls_for_five_intervals() {
        let health = Health::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(
            health.is_healthy(start + Duration::from_secs(3600)),
            "not started yet"
        );
        health.mark(start);
        assert!(health.is_healthy(start + Duration::from_secs(300)));
        assert!(!health.is_healthy(start + Duration::from_secs(301)));
    }

    #[tokio::test]
    async fn healthz_answers_500_when_stale_and_metrics_are_served() {
        let health = Health::new(Duration::from_millis(10));
        health.mark(Instant::now() - Duration::from_secs(1));
        let app = router(Arc::new(Registry::default()), health);
        let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
        let status = app.clone().oneshot(get("/healthz")).await.unwrap().status();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let status = app.oneshot(get("/metrics")).await.unwrap().status();
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn go_style_addresses_listen_everywhere() {
        assert_eq!(listen_address(":8942").unwrap().to_string(), "0.0.0.0:8942");
        assert_eq!(
            listen_address("127.0.0.1:1").unwrap().to_string(),
            "127.0.0.1:1"
        );
    }
}
