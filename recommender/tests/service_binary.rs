//! The real `vpa-recommender` binary against the in-memory API server, as its ServiceAccount
//! with the RBAC of `deploy/rbac/recommender.yaml`: flags, the admin server (`/healthz`,
//! `/metrics` with upstream's and our metric names), leader election and a clean exit on SIGTERM
//! that releases the lease.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use vpa_e2e::component::Component;
use vpa_e2e::prometheus::http_get;

use support::*;

/// Applies `deploy/rbac/recommender.yaml` and returns a kubeconfig file for its ServiceAccount.
async fn service_account_kubeconfig(c: &HamsterSim, dir: &std::path::Path) -> std::path::PathBuf {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    use kube::api::PostParams;

    let text =
        std::fs::read_to_string(vpa_e2e::repo_root().join("deploy/rbac/recommender.yaml")).unwrap();
    let pp = PostParams::default();
    for doc in vpa_e2e::yaml_documents(&text) {
        let ns = doc["metadata"]["namespace"]
            .as_str()
            .unwrap_or("kube-system")
            .to_string();
        let client = c.client.clone();
        match doc["kind"].as_str().unwrap() {
            "ServiceAccount" => {
                let o: ServiceAccount = serde_json::from_value(doc).unwrap();
                Api::namespaced(client, &ns)
                    .create(&pp, &o)
                    .await
                    .map(|_| ())
            }
            "ClusterRole" => {
                let o: ClusterRole = serde_json::from_value(doc).unwrap();
                Api::all(client).create(&pp, &o).await.map(|_| ())
            }
            "ClusterRoleBinding" => {
                let o: ClusterRoleBinding = serde_json::from_value(doc).unwrap();
                Api::all(client).create(&pp, &o).await.map(|_| ())
            }
            "Role" => {
                let o: Role = serde_json::from_value(doc).unwrap();
                Api::namespaced(client, &ns)
                    .create(&pp, &o)
                    .await
                    .map(|_| ())
            }
            "RoleBinding" => {
                let o: RoleBinding = serde_json::from_value(doc).unwrap();
                Api::namespaced(client, &ns)
                    .create(&pp, &o)
                    .await
                    .map(|_| ())
            }
            other => panic!("unexpected kind {other} in the recommender's RBAC"),
        }
        .unwrap();
    }
    let token = c
        .sim
        .service_account_token("kube-system", "vpa-recommender");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, c.sim.kubeconfig_for(&token)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_with_its_rbac_serves_metrics_and_health_and_releases_the_lease_on_sigterm() {
    let c = hamster_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = service_account_kubeconfig(&c, dir.path()).await;
    let audit = c.sim.record_requests();
    let port = vpa_sim::free_port();
    let args: Vec<String> = [
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
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

    let ours: Vec<_> = audit
        .records()
        .into_iter()
        .filter(|r| r.user == "system:serviceaccount:kube-system:vpa-recommender")
        .collect();
    assert!(
        ours.iter().any(|r| r.subresource == "status"),
        "status written as the ServiceAccount"
    );
    let denied: Vec<_> = ours.iter().filter(|r| !r.allowed).collect();
    assert!(denied.is_empty(), "requests the RBAC denies: {denied:?}");

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
