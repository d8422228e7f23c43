//! The real `vpa-recommender` binary against the in-memory API server: flags, the admin server
//! (`/healthz`, `/metrics` with upstream's and our metric names), leader election and a clean
//! exit on SIGTERM that releases the lease.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use vpa_e2e::component::Component;
use vpa_e2e::prometheus::http_get;

use support::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_metrics_and_health_and_releases_the_lease_on_sigterm() {
    let c = cluster().await;
    let port = free_port();
    let args: Vec<String> = [
        "--kubeconfig",
        c.sim.kubeconfig_path().to_str().unwrap(),
        "--address",
        &format!("127.0.0.1:{port}"),
        "--recommender-interval=1s",
        "--controllers-sync-timeout=2s",
        "--leader-elect",
        "--leader-elect-retry-period=300ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = [("RUST_LOG", "info".to_string())];
    let mut recommender = Component::start("vpa-recommender", "vpa-recommender", &args, &env);
    let metrics = tokio::task::block_in_place(|| {
        recommender.wait_for("a recommendation in /metrics", Duration::from_secs(30), || {
            let (status, body) = http_get(port, "/metrics").ok()?;
            let wanted = r#"vpa_recommender_recommendation{namespace="default",vpa="hamster-vpa",container="hamster",resource="cpu",bound="target"}"#;
            (status == 200 && body.contains(wanted)).then_some(body)
        })
    });
    for name in [
        "vpa_recommender_execution_latency_seconds_bucket{",
        "vpa_recommender_aggregate_container_states_count 1",
        "vpa_recommender_vpa_objects_count{",
        "vpa_recommender_last_loop_timestamp_seconds ",
        "vpa_recommender_recommendation_latency_seconds_count 1",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    let (status, _) = http_get(port, "/healthz").unwrap();
    assert_eq!(status, 200);
    let target = wait_for_target(
        &c.client,
        "hamster-vpa",
        Duration::from_secs(5),
        hamster_like,
    )
    .await;
    assert!(hamster_like(target));

    let code = tokio::task::block_in_place(|| recommender.terminate(Duration::from_secs(10)));
    assert_eq!(
        code,
        Some(0),
        "clean exit on SIGTERM:\n{}",
        recommender.logs()
    );
    let lease = Api::<Lease>::namespaced(c.client.clone(), "kube-system")
        .get("vpa-recommender-lease")
        .await
        .unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity, None, "lease released");
}
