//! The plain-HTTP admin server (edge): `/healthz` (and upstream's `/health-check`) and
//! `/metrics` in the Prometheus text format.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

use crate::health::Health;

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
            "no updater loop for 5 intervals",
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

/// Parses Go-style listen addresses: `:8943` means every interface.
pub fn listen_address(address: &str) -> Result<SocketAddr, std::net::AddrParseError> {
    if let Some(port) = address.strip_prefix(':') {
        format!("0.0.0.0:{port}").parse()
    } else {
        address.parse()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::metrics::Metrics;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    fn setup() -> (Router, Health) {
        let metrics = Metrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.observe_step("total", 0.1);
        let health = Health::new(Duration::from_secs(60));
        (router(Arc::new(registry), health.clone()), health)
    }

    #[tokio::test(start_paused = true)]
    async fn healthz_turns_unhealthy_after_five_silent_intervals() {
        let (router, _health) = setup();
        assert_eq!(get_path(router.clone(), "/healthz").await.0, StatusCode::OK);
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(
            get_path(router.clone(), "/healthz").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            get_path(router, "/health-check").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn metrics_are_served_as_text() {
        let (router, _) = setup();
        let (status, body) = get_path(router, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("vpa_updater_execution_latency_seconds_count{step=\"total\"} 1"));
    }

    #[test]
    fn go_style_addresses_listen_everywhere() {
        assert_eq!(listen_address(":8943").unwrap().to_string(), "0.0.0.0:8943");
        assert_eq!(
            listen_address("127.0.0.1:1").unwrap().to_string(),
            "127.0.0.1:1"
        );
    }
}
