//! The components' plain-HTTP admin server (edge): `/healthz` (and upstream's `/health-check`),
//! failing once the main loop stalls, `/readyz` where a component has a readiness check, and
//! `/metrics` in the OpenMetrics text format, streamed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::info;

/// Intervals without a loop after which a component is unhealthy, as upstream.
pub const STALE_INTERVALS: u32 = 5;

/// Loop liveness shared between a loop and `/healthz` (cheap to clone). Healthy until the loop
/// first runs (so a standby replica waiting for leadership is not restarted by its liveness
/// probe), then while a loop started within [`STALE_INTERVALS`] intervals.
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

    /// Liveness of a component without a loop (the admission controller): always healthy.
    pub fn without_loop() -> Self {
        Self::new(Duration::ZERO)
    }

    /// Marks loop activity at `now`.
    pub fn mark(&self, now: Instant) {
        *self.last_loop.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    }

    /// Whether the loop has not run yet or ran within the timeout before `now`.
    pub fn is_healthy(&self, now: Instant) -> bool {
        match *self.last_loop.lock().unwrap_or_else(|e| e.into_inner()) {
            None => true,
            Some(last) => now.saturating_duration_since(last) <= self.timeout,
        }
    }
}

/// What `/readyz` asks: `check` tells whether the component can serve; while it cannot,
/// `/readyz` answers 503 with `unready`.
#[derive(Clone)]
pub struct Readiness {
    check: Arc<dyn Fn() -> bool + Send + Sync>,
    unready: &'static str,
}

impl Readiness {
    /// Readiness by `check`, explained by `unready` while it fails.
    pub fn new(check: impl Fn() -> bool + Send + Sync + 'static, unready: &'static str) -> Self {
        Self {
            check: Arc::new(check),
            unready,
        }
    }
}

#[derive(Clone)]
struct AdminState {
    registry: Arc<Registry>,
    health: Health,
    component: &'static str,
}

/// The admin routes of `component` (named in the unhealthy answer, e.g. `updater`).
pub fn router(registry: Arc<Registry>, health: Health, component: &'static str) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/health-check", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(AdminState {
            registry,
            health,
            component,
        })
}

/// [`router`] plus `/readyz`, answered by `readiness`.
pub fn router_with_readiness(
    registry: Arc<Registry>,
    health: Health,
    component: &'static str,
    readiness: Readiness,
) -> Router {
    let readyz = get(move || {
        let ready = (readiness.check)();
        async move {
            match ready {
                true => (StatusCode::OK, "ok"),
                false => (StatusCode::SERVICE_UNAVAILABLE, readiness.unready),
            }
        }
    });
    router(registry, health, component).route("/readyz", readyz)
}

async fn healthz(State(state): State<AdminState>) -> Response {
    if state.health.is_healthy(Instant::now()) {
        (StatusCode::OK, "ok").into_response()
    } else {
        let why = format!(
            "no {} loop for {STALE_INTERVALS} intervals",
            state.component
        );
        (StatusCode::INTERNAL_SERVER_ERROR, why).into_response()
    }
}

/// Bytes of metrics text sent per chunk of a streamed `/metrics` answer.
const METRICS_CHUNK: usize = 64 * 1024;

/// Collects encoded metrics text and hands it on in [`METRICS_CHUNK`] pieces; a closed
/// receiver (the scraper went away) stops the encoding.
struct ChunkWriter {
    buffer: String,
    chunks: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::fmt::Result {
        let chunk = std::mem::replace(&mut self.buffer, String::with_capacity(METRICS_CHUNK));
        self.chunks
            .blocking_send(Ok(chunk.into()))
            .map_err(|_| std::fmt::Error)
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buffer.push_str(s);
        if self.buffer.len() >= METRICS_CHUNK {
            self.send()?;
        }
        Ok(())
    }
}

/// `/metrics`, streamed: the registry is encoded on a blocking thread a chunk at a time, so a
/// large exposition (160k series, about 20 MiB, from the recommender at 10k VPAs) is never held
/// whole in memory.
async fn metrics(State(state): State<AdminState>) -> Response {
    let (chunks, mut receiver) = tokio::sync::mpsc::channel(4);
    let registry = state.registry.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            buffer: String::with_capacity(METRICS_CHUNK),
            chunks,
        };
        let encoded = prometheus_client::encoding::text::encode(&mut writer, &registry)
            .and_then(|()| writer.send());
        if encoded.is_err() {
            let _ = writer
                .chunks
                .blocking_send(Err(std::io::Error::other("metrics encoding stopped")));
        }
    });
    let stream = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// Why the admin server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `--address` is not a listen address.
    #[error("parsing --address {address}")]
    Address {
        /// The flag's value.
        address: String,
        /// The parser's complaint.
        source: std::net::AddrParseError,
    },
    /// The address cannot be bound (in use, not local, not permitted).
    #[error("binding {address}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The system's answer.
        source: std::io::Error,
    },
}

/// Binds `address` and serves `router` there on a new task until `stop` resolves; answers under
/// way are finished first. Binding happens before this returns, so a taken port fails startup.
pub async fn serve(
    address: SocketAddr,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<std::io::Result<()>>, AdminError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| AdminError::Bind { address, source })?;
    info!(%address, "Serving /healthz and /metrics");
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
    }))
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
    use http_body_util::BodyExt;
    use prometheus_client::metrics::counter::Counter;
    use tower::ServiceExt;

    use super::*;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn healthy_until_the_loop_stalls_for_five_intervals() {
        let health = Health::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(
            health.is_healthy(start + Duration::from_secs(3600)),
            "a loop that has not started yet (standby replica) is healthy"
        );
        health.mark(start);
        assert!(health.is_healthy(start + Duration::from_secs(300)));
        assert!(!health.is_healthy(start + Duration::from_secs(301)));
    }

    #[tokio::test(start_paused = true)]
    async fn healthz_and_health_check_answer_500_naming_the_stalled_loop() {
        let health = Health::new(Duration::from_secs(60));
        health.mark(Instant::now());
        let app = router(Arc::new(Registry::default()), health, "updater");
        assert_eq!(get_path(app.clone(), "/healthz").await.0, StatusCode::OK);
        tokio::time::advance(Duration::from_secs(301)).await;
        let (status, body) = get_path(app.clone(), "/healthz").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, "no updater loop for 5 intervals");
        let (status, _) = get_path(app, "/health-check").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics_text() {
        let mut registry = Registry::default();
        let counter = Counter::<u64>::default();
        registry.register("demo_things", "Things seen", counter.clone());
        counter.inc();
        let app = router(Arc::new(registry), Health::new(Duration::from_secs(1)), "x");
        let (status, body) = get_path(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("demo_things_total 1"), "{body}");
    }

    #[tokio::test]
    async fn large_expositions_stream_in_chunks_with_the_same_text() {
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::Gauge;

        let mut registry = Registry::default();
        let family = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register("demo_series", "Many series", family.clone());
        for i in 0..10_000 {
            family
                .get_or_create(&vec![("container".into(), format!("c-{i}"))])
                .set(i);
        }
        let mut expected = String::new();
        prometheus_client::encoding::text::encode(&mut expected, &registry).unwrap();
        assert!(
            expected.len() > 3 * METRICS_CHUNK,
            "{} bytes",
            expected.len()
        );
        let app = router(Arc::new(registry), Health::new(Duration::from_secs(1)), "x");
        let (status, body) = get_path(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, expected);
    }

    #[test]
    fn go_style_addresses_listen_everywhere() {
        assert_eq!(listen_address(":8942").unwrap().to_string(), "0.0.0.0:8942");
        assert_eq!(
            listen_address("127.0.0.1:1").unwrap().to_string(),
            "127.0.0.1:1"
        );
        assert!(listen_address("nope").is_err());
    }

    #[tokio::test]
    async fn readyz_answers_by_the_readiness_check_and_healthz_without_a_loop_is_ok() {
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let check = ready.clone();
        let app = router_with_readiness(
            Arc::new(Registry::default()),
            Health::without_loop(),
            "admission-controller",
            Readiness::new(
                move || check.load(std::sync::atomic::Ordering::Relaxed),
                "not yet",
            ),
        );
        assert_eq!(
            get_path(app.clone(), "/readyz").await,
            (StatusCode::SERVICE_UNAVAILABLE, "not yet".to_string())
        );
        ready.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(get_path(app.clone(), "/readyz").await.0, StatusCode::OK);
        assert_eq!(get_path(app.clone(), "/healthz").await.0, StatusCode::OK);
        let plain = router(Arc::new(Registry::default()), Health::without_loop(), "x");
        assert_eq!(get_path(plain, "/readyz").await.0, StatusCode::NOT_FOUND);
    }
}
