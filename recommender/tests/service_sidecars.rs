//! Native sidecars (init containers with `restartPolicy: Always`) through the running service
//! against the in-memory API server: with the `NativeSidecar` gate a sidecar gets a
//! recommendation from its usage like a container; a plain init container never does, and
//! without the gate neither does the sidecar (upstream 1.7.1's behaviour).

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;
use vpa_common::resources::CPU;

use support::*;
use vpa_test_support::hamster::owner;

/// Replaces the hamster pods by two with a native sidecar `proxy` and a plain init container
/// `setup`, with PodMetrics for all three refreshed every second (a real kubelet reports the
/// running sidecar; metrics-server would list `setup` only while it runs, listed anyway here to
/// show it is left out).
async fn pods_with_sidecars(c: &HamsterSim) -> JoinHandle<()> {
    c.metrics_task.abort();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), NS);
    let rs = Api::<ReplicaSet>::namespaced(c.client.clone(), NS)
        .get("hamster-rs")
        .await
        .unwrap();
    for name in ["hamster-rs-a", "hamster-rs-b"] {
        pods.delete(name, &Default::default()).await.unwrap();
    }
    let names = ["hamster-rs-c", "hamster-rs-d"];
    for name in names {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "hamster"}},
            "spec": {
                "initContainers": [
                    {"name": "setup", "image": "setup"},
                    {"name": "proxy", "image": "proxy", "restartPolicy": "Always",
                     "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}}}
                ],
                "containers": [{"name": "hamster", "image": "hamster",
                    "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]
            }
        }))
        .unwrap();
        pod.metadata.owner_references = Some(vec![owner(
            "ReplicaSet",
            "hamster-rs",
            rs.metadata.uid.clone(),
        )]);
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let running = |n: &str| {
            json!({"name": n, "image": n, "imageID": "", "ready": true,
            "restartCount": 0, "started": true,
            "state": {"running": {"startedAt": "2026-11-28T00:00:00Z"}}})
        };
        let status = json!({"status": {"phase": "Running",
        "containerStatuses": [running("hamster")],
        "initContainerStatuses": [
            {"name": "setup", "image": "setup", "imageID": "", "ready": true, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            running("proxy")
        ]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap();
    }
    let store = c.sim.shared().clone();
    tokio::spawn(async move {
        let gr = vpa_sim::GroupResource::new("metrics.k8s.io", "pods");
        loop {
            for pod in names {
                let store = &store.store;
                let obj = json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                    "metadata": {"name": pod, "namespace": NS}, "timestamp": store.now(),
                    "window": "30s", "containers": [
                        {"name": "hamster", "usage": {"cpu": "500m", "memory": "300Mi"}},
                        {"name": "proxy", "usage": {"cpu": "200m", "memory": "100Mi"}},
                        {"name": "setup", "usage": {"cpu": "1", "memory": "1Gi"}}]});
                let _ = match store.get(&gr, NS, pod) {
                    Some(_) => store.update(&gr, NS, pod, obj, None, false).map(|_| ()),
                    None => store.create(&gr, true, obj, false).map(|_| ()),
                };
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// Container names of hamster-vpa's recommendation once `hamster` has one, with `proxy`'s CPU
/// target if any.
async fn recommended(native_sidecar: bool) -> (Vec<String>, Option<i64>) {
    let c = hamster_sim().await;
    let metrics = AbortOnDrop(pods_with_sidecars(&c).await);
    let mut config = config();
    config.gates.native_sidecar = native_sidecar;
    let replica = Replica::start(c.client.clone(), config);
    wait_for_target(&c.client, "hamster-vpa", Duration::from_secs(15), |_| true).await;
    // One more loop, so every container with usage has had its chance.
    tokio::time::sleep(INTERVAL * 2).await;
    let vpa = vpa(&c.client, "hamster-vpa").await;
    let recs = vpa_common::capping::recommendations_from_status(&vpa).unwrap();
    replica.shutdown().await.unwrap();
    drop(metrics);
    let proxy = recs
        .iter()
        .find(|r| r.container_name == "proxy")
        .map(|r| r.target[CPU]);
    (recs.into_iter().map(|r| r.container_name).collect(), proxy)
}

#[tokio::test]
async fn with_the_gate_a_native_sidecar_gets_a_recommendation_from_its_usage() {
    let (names, proxy) = recommended(true).await;
    assert_eq!(
        names,
        ["hamster", "proxy"],
        "setup is a plain init container"
    );
    // 0.2 cores at its bucket's upper edge, plus the 15 % margin.
    let proxy = proxy.unwrap();
    assert!((230..=250).contains(&proxy), "proxy cpu target {proxy}m");
}

#[tokio::test]
async fn without_the_gate_init_containers_of_every_kind_are_left_out() {
    let (names, _) = recommended(false).await;
    assert_eq!(names, ["hamster"]);
}
