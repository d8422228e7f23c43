//! History loading against a real Prometheus backfilled with `promtool`: every sample arrives, in
//! order per series, with the right values, in chunks that respect Prometheus' point limit.

use std::collections::BTreeMap;
use std::time::Duration;

use vpa_e2e::prometheus::{LabelNames, SyntheticContainer, TestPrometheus, cadvisor_openmetrics};
use vpa_recommender::input::prometheus_history::{
    HistoryConfig, HistoryResource, PrometheusHistory,
};

const DAY: i64 = 24 * 3600;

/// (pod, container, resource) -> samples as (unix seconds, value).
type SeriesMap = BTreeMap<(String, String, &'static str), Vec<(i64, f64)>>;

fn containers() -> Vec<SyntheticContainer> {
    let mk = |ns: &str, pod: &str, container: &str, cpu: fn(i64) -> f64, mem: fn(i64) -> f64| {
        SyntheticContainer {
            namespace: ns.into(),
            pod: pod.into(),
            container: container.into(),
            cpu_cores: cpu,
            memory_bytes: mem,
        }
    };
    vec![
        mk("shop", "web-1", "app", |_| 0.5, |_| 200e6),
        mk("shop", "web-2", "app", |_| 0.5, |t| 100e6 + t as f64 * 10.0),
        mk("batch", "job-1", "worker", |_| 2.0, |_| 1e9),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_every_sample_in_bounded_slices() {
    vpa_common::install_crypto_provider();
    // Whole hours, so the query steps land on the backfilled samples' grid.
    let end = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 3600)
        * 3600
        - 3600;
    let start = end - 3 * DAY;
    let text = cadvisor_openmetrics(
        &containers(),
        &LabelNames::default(),
        start - 3600,
        end,
        300,
    );
    let Some(prom) = TestPrometheus::start(Some(&text), "[]") else {
        return;
    };

    let config = HistoryConfig {
        address: prom.url(),
        history_length: Duration::from_secs(2 * DAY as u64),
        resolution: Duration::from_secs(3600),
        slice: Some(Duration::from_secs(12 * 3600)),
        ..HistoryConfig::default()
    };
    let history = PrometheusHistory::new(reqwest::Client::new(), config.clone()).unwrap();
    assert_eq!(history.namespaces(end).await.unwrap(), ["batch", "shop"]);

    let mut per_series = SeriesMap::new();
    let stats = history
        .load(end, |s| {
            let kind = match s.resource {
                HistoryResource::Cpu => "cpu",
                HistoryResource::Memory => "memory",
            };
            per_series
                .entry((s.pod.clone(), s.container.clone(), kind))
                .or_default()
                .push((s.timestamp, s.value));
        })
        .await
        .unwrap();

    let slices = config.slices(end).len();
    assert!(slices >= 4, "2 days in 12h slices");
    assert_eq!(
        stats.queries,
        2 * 2 * slices,
        "two namespaces x two resources x slices"
    );
    assert_eq!(
        per_series.len(),
        6,
        "3 containers x 2 resources: {:?}",
        per_series.keys()
    );
    for ((pod, _, kind), samples) in &per_series {
        assert_eq!(
            samples.len(),
            49,
            "{pod} {kind}: one sample per hour over 2 days, ends included"
        );
        assert!(
            samples.windows(2).all(|w| w[0].0 < w[1].0),
            "{pod} {kind}: in time order"
        );
        let want_cpu = if pod == "job-1" { 2.0 } else { 0.5 };
        for &(_, v) in samples {
            if *kind == "cpu" {
                assert!(
                    (v - want_cpu).abs() < 1e-6,
                    "{pod}: cpu {v} cores, want {want_cpu}"
                );
            }
        }
    }
    let web1_mem = &per_series[&("web-1".to_string(), "app".to_string(), "memory")];
    assert!(web1_mem.iter().all(|&(_, v)| v == 200e6));
    assert_eq!(
        stats.samples,
        per_series.values().map(Vec::len).sum::<usize>()
    );
}

#[tokio::test]
async fn unreachable_prometheus_is_a_clear_error() {
    vpa_common::install_crypto_provider();
    let config = HistoryConfig {
        address: "http://127.0.0.1:9".into(),
        ..HistoryConfig::default()
    };
    let history = PrometheusHistory::new(reqwest::Client::new(), config).unwrap();
    let err = history
        .load(1_000_000_000, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("Prometheus query failed"), "{err}");
}
