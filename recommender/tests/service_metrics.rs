//! Upstream's recommender metrics as a scrape shows them, moving with the events they count: the
//! metrics-server responses and the `vpa_quality_*` family through the running service against
//! the in-memory API server, the Prometheus client requests against a small fake Prometheus.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus_client::registry::Registry;
use serde_json::json;
use vpa_recommender::input::prometheus_history::{HistoryConfig, PrometheusHistory};
use vpa_recommender::service::metrics::Metrics;
use vpa_sim::{FaultConfig, FaultKind, FaultRule};

use support::*;

fn scrape(metrics: &Metrics) -> String {
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}

/// The value of the series written exactly `series` (name and labels), if scraped.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

/// Waits until `series` has a value accepted by `accept`; returns it.
async fn wait_for(metrics: &Metrics, series: &str, accept: impl Fn(f64) -> bool) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(metrics);
        if let Some(v) = value(&text, series).filter(|v| accept(*v)) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never acceptable:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const RESPONSES_OK: &str = r#"vpa_recommender_metric_server_responses{is_error="false",client_name="default-metrics-client"}"#;
const RESPONSES_FAILED: &str = r#"vpa_recommender_metric_server_responses{is_error="true",client_name="default-metrics-client"}"#;

#[tokio::test]
async fn metric_server_responses_count_each_pod_metrics_list_by_outcome() {
    let c = hamster_sim().await;
    let replica = Replica::start(c.client.clone(), config());
    let first = wait_for(&replica.metrics, RESPONSES_OK, |v| v >= 1.0).await;
    wait_for(&replica.metrics, RESPONSES_OK, |v| v > first).await;
    assert!(
        scrape(&replica.metrics).contains("# TYPE vpa_recommender_metric_server_responses unknown")
    );
    c.sim.faults().set(FaultConfig {
        rules: vec![FaultRule {
            verb: Some("list".into()),
            resource: Some("pods".into()),
            rate: 1.0,
            kind: FaultKind::Internal,
        }],
        ..FaultConfig::default()
    });
    wait_for(&replica.metrics, RESPONSES_FAILED, |v| v >= 1.0).await;
    c.sim.faults().set(FaultConfig::default());
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn quality_metrics_compare_samples_with_the_last_recommendation() {
    let c = hamster_sim().await;
    let replica = Replica::start(c.client.clone(), config());
    // Before the first recommendation, samples count as missing one (hamster-vpa sets no mode).
    let missing = r#"vpa_quality_usage_sample_missing_recommendation_count{update_mode="",resource="cpu",is_oom="false"}"#;
    wait_for(&replica.metrics, missing, |v| v >= 1.0).await;
    // Once recommended, each sample is compared with it: 0.5 cores used against ~0.6 recommended.
    let compared = r#"vpa_quality_cpu_recommendations_cores_count{update_mode=""}"#;
    let seen = wait_for(&replica.metrics, compared, |v| v >= 1.0).await;
    wait_for(&replica.metrics, compared, |v| v > seen).await;
    let over = r#"vpa_quality_cpu_recommendation_over_usage_diffs_cores_count{update_mode="",recommendation_missing="false"}"#;
    wait_for(&replica.metrics, over, |v| v >= 1.0).await;
    let relative = r#"vpa_quality_usage_recommendation_relative_diffs_count{update_mode="",resource="memory",is_oom="false"}"#;
    wait_for(&replica.metrics, relative, |v| v >= 1.0).await;
    let changes = r#"vpa_quality_relative_recommendation_changes_count{update_mode="",resource="cpu",vpa_size_log2="1"}"#;
    wait_for(&replica.metrics, changes, |v| v >= 1.0).await;
    replica.shutdown().await.unwrap();
}

/// A Prometheus answering the namespace query, then range queries alternately with an empty
/// matrix and a 422 execution error (so both codes are seen).
async fn fake_prometheus() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/api/v1/query",
            get(|| async {
                axum::Json(
                    json!({"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"namespace": "shop"}, "value": [1_700_000_000, "1"]}]}}),
                )
            }),
        )
        .route(
            "/api/v1/query_range",
            get(move || {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    if n == 0 {
                        (
                            StatusCode::OK,
                            axum::Json(json!({"status": "success",
                                "data": {"resultType": "matrix", "result": []}})),
                        )
                    } else {
                        (
                            StatusCode::UNPROCESSABLE_ENTITY,
                            axum::Json(json!({"status": "error", "errorType": "execution",
                                "error": "query too heavy"})),
                        )
                    }
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::test]
async fn prometheus_requests_are_counted_and_timed_by_code_and_method() {
    vpa_common::install_crypto_provider();
    let metrics = Arc::new(Metrics::default());
    let history = PrometheusHistory::new(
        reqwest::Client::new(),
        HistoryConfig {
            address: fake_prometheus().await,
            ..HistoryConfig::default()
        },
    )
    .unwrap()
    .with_observer(metrics.clone());
    let error = history.load(1_700_000_000, |_| {}).await.unwrap_err();
    assert!(error.to_string().contains("query too heavy"), "{error}");
    let text = scrape(&metrics);
    // One instant query and one range query answered 200, the next range query 422.
    let count = |code: &str| {
        value(
            &text,
            &format!(
                r#"vpa_recommender_prometheus_client_api_requests_count{{code="{code}",method="get"}}"#
            ),
        )
    };
    assert_eq!(
        (count("200"), count("422")),
        (Some(2.0), Some(1.0)),
        "{text}"
    );
    let timed = value(
        &text,
        r#"vpa_recommender_prometheus_client_api_requests_duration_seconds_count{code="422",method="get"}"#,
    );
    assert_eq!(timed, Some(1.0), "{text}");
}
