//! `--storage=prometheus` end to end: the sim holds the hamster Deployment and its pods but no
//! live usage at all; a real Prometheus (Debian package, backfilled with `promtool`) holds two
//! days of cAdvisor history, including a pod that no longer exists. The first status written
//! already carries the recommendation.

mod support;

use std::time::Duration;

use vpa_e2e::prometheus::{LabelNames, SyntheticContainer, TestPrometheus, cadvisor_openmetrics};
use vpa_recommender::input::prometheus_history::{HistoryConfig, PrometheusHistory};
use vpa_recommender::service::config::Storage;

use support::*;

const DAY: i64 = 24 * 3600;

fn container(pod: &str) -> SyntheticContainer {
    SyntheticContainer {
        namespace: NS.into(),
        pod: pod.into(),
        container: "hamster".into(),
        cpu_cores: |_| 0.5,
        memory_bytes: |_| 300.0 * 1024.0 * 1024.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_from_prometheus_gives_a_recommendation_on_the_first_loop() {
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let end = now / 3600 * 3600;
    let pods = [
        container("hamster-rs-a"),
        container("hamster-rs-b"),
        container("hamster-5d8f7c9b4-gone1"),
    ];
    let text = cadvisor_openmetrics(&pods, &LabelNames::default(), end - 2 * DAY, end, 300);
    let Some(prom) = TestPrometheus::start(Some(&text), "[]") else {
        return;
    };
    let c = hamster_sim_with(false).await;
    let history = HistoryConfig {
        address: prom.url(),
        history_length: Duration::from_secs(2 * DAY as u64),
        ..HistoryConfig::default()
    };
    let mut config = config();
    config.storage = Storage::Prometheus(Box::new(history.clone()));
    let source = PrometheusHistory::new(reqwest::Client::new(), history).unwrap();
    let replica = Replica::start_with_history(c.client.clone(), config, Some(source));

    // Poll faster than the loop: the first status seen is the first status written.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = vpa(&c.client, "hamster-vpa").await.status {
            break status;
        }
        assert!(tokio::time::Instant::now() < deadline, "no status written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.recommendation.is_some(), "first status: {status:?}");
    let target = wait_for_target(&c.client, "hamster-vpa", Duration::from_secs(1), |_| true).await;
    assert!(hamster_like(target), "{target:?}");
    let conditions = status.conditions.unwrap_or_default();
    assert!(
        conditions.iter().all(|c| c.type_ != "FetchingHistory"),
        "history already loaded: {conditions:?}"
    );
    replica.shutdown().await.unwrap();
}

#[tokio::test]
async fn while_history_loads_vpas_say_so_and_live_usage_still_counts() {
    // A "Prometheus" that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", silent.local_addr().unwrap());
    let c = hamster_sim().await;
    let history = HistoryConfig {
        address,
        ..HistoryConfig::default()
    };
    let mut config = config();
    config.storage = Storage::Prometheus(Box::new(history.clone()));
    let source = PrometheusHistory::new(reqwest::Client::new(), history).unwrap();
    let replica = Replica::start_with_history(c.client.clone(), config, Some(source));

    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(15),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target), "live usage is used meanwhile");
    let status = vpa(&c.client, "hamster-vpa").await.status.unwrap();
    let fetching = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "FetchingHistory")
        .expect("FetchingHistory condition");
    assert_eq!(fetching.status, "True");
    assert!(
        fetching
            .message
            .unwrap_or_default()
            .contains("192h of usage history"),
        "says what is loading"
    );
    assert_eq!(
        checkpoint_samples(&c.client).await,
        None,
        "no checkpoints with Prometheus storage"
    );
    replica.shutdown().await.unwrap();
    drop(silent);
}
