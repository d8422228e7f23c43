//! Process-backed pods get loopback addresses of their own: two replicas of a Deployment listening
//! on the same ports both run (the bind-all admin address moved to each pod's address, the
//! webhook port moved off for the second one), and the Service reaches both of them.

#![cfg(unix)]

mod stand_in;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use vpa_sim::cluster::ClusterOptions;
use vpa_sim::cluster::Launcher;

use stand_in::python_stand_in;
use vpa_sim::free_port;
use vpa_test_support::{eventually, sim_cluster::sim_with_cluster_from};

async fn get(url: &str) -> Option<String> {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    resp.status().is_success().then_some(())?;
    resp.text().await.ok()
}

#[tokio::test]
async fn two_replicas_on_the_same_ports_both_run_and_the_service_reaches_both() {
    let bin = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    if python_stand_in(bin.path(), "vpa-admission-controller").is_none() {
        return;
    }
    std::fs::write(work.path().join("ready"), "").unwrap();
    let (webhook, admin) = (free_port(), free_port());
    let (sim, cluster, client) = sim_with_cluster_from(
        &["n1:4:8Gi"],
        Default::default(),
        ClusterOptions {
            processes: Some(Launcher {
                bin_dir: bin.path().to_path_buf(),
                work_dir: work.path().join("pods"),
            }),
            process_second: Duration::from_millis(50),
            ..Default::default()
        },
    )
    .await;
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let deployment = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
            "name": "web", "image": "vpa-rs/vpa-admission-controller",
            "args": [format!("--port={webhook}"), format!("--address=:{admin}")],
            "env": [{"name": "CONTROL_DIR", "value": work.path()}],
            "ports": [{"name": "webhook", "containerPort": webhook}, {"name": "metrics", "containerPort": admin}],
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 1}}]}}}});
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment).unwrap(),
        )
        .await
        .unwrap();
    let services: Api<Service> = Api::default_namespaced(client.clone());
    let service = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
        "ports": [{"name": "webhook", "port": 443, "targetPort": "webhook"}]}});
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(service).unwrap(),
        )
        .await
        .unwrap();

    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let ready = eventually("both replicas ready", || async {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?
            .items;
        let ready: Vec<Pod> = list
            .into_iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .is_some_and(|cs| cs.iter().all(|c| c.ready))
            })
            .collect();
        (ready.len() == 2).then_some(ready)
    })
    .await;
    let mut ips = BTreeSet::new();
    for p in &ready {
        let status = p.status.as_ref().unwrap();
        let ip = status.pod_ip.clone().unwrap();
        assert!(ip.starts_with("127.1."), "{ip}");
        assert_eq!(status.pod_ips.as_ref().unwrap()[0].ip, ip);
        let c = &status.container_statuses.as_ref().unwrap()[0];
        assert_eq!(c.restart_count, 0, "no replica failed to bind: {c:?}");
        let name = p.metadata.name.clone().unwrap();
        assert_eq!(
            get(&format!("http://{ip}:{admin}/healthz"))
                .await
                .as_deref(),
            Some(name.as_str()),
            "the admin server listens on the pod's own address"
        );
        ips.insert(ip);
    }
    assert_eq!(ips.len(), 2, "each pod has its own address");

    let names: BTreeSet<String> = ready
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    let endpoints: Api<Endpoints> = Api::default_namespaced(client.clone());
    eventually("both pods in the Service's endpoints", || async {
        let e = endpoints.get("web").await.ok()?;
        let subsets = e.subsets?;
        let ready = subsets.first()?.addresses.as_ref()?.len();
        (ready == 2).then_some(())
    })
    .await;
    let mut reached = BTreeSet::new();
    for _ in 0..4 {
        let addr = cluster.resolve_service("default", "web", 443).unwrap();
        let who = get(&format!("http://{addr}/")).await.unwrap_or_default();
        reached.insert(who);
    }
    assert_eq!(reached, names, "calls to the Service reach both replicas");
    cluster.stop().await;
    sim.shutdown().await;
}
