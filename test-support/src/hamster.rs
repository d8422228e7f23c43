//! The hamster example of `examples/hamster.yaml` (Deployment `hamster` in `default`, VPA
//! `hamster-vpa`, container `hamster`) in the three forms tests use: the VPA and controller index
//! a handler sees, objects in an API server, and readers of kubectl's JSON.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use vpa_common::controllers::Controllers;
use vpa_common::quantity::Quantity;
use vpa_common::testutil::VpaBuilder;

use crate::objects::object;

/// The hamster's namespace.
pub const NS: &str = "default";
/// The pods [`create_hamster`] makes.
pub const HAMSTER_PODS: [&str; 2] = ["hamster-rs-a", "hamster-rs-b"];

/// VPA `default/hamster-vpa` recommending a target of 250m / 200Mi for container `hamster`.
pub fn hamster_vpa() -> VpaBuilder {
    VpaBuilder::new(NS, "hamster-vpa")
        .container("hamster")
        .target("250m", "200Mi")
}

/// Deployment `hamster` and its ReplicaSet `hamster-5d7c6c6b5f` in `default`, as the hamster
/// pod of admission/tests/reviews/pod-create.json names them.
pub fn hamster_controllers() -> Controllers {
    Controllers::default()
        .with(NS, "Deployment", "hamster", None, &[("app", "hamster")])
        .with(
            NS,
            "ReplicaSet",
            "hamster-5d7c6c6b5f",
            Some(("Deployment", "hamster")),
            &[("app", "hamster")],
        )
}

/// A controlling owner reference to the apps/v1 `kind` `name`.
pub fn owner(kind: &str, name: &str, uid: Option<String>) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

/// Creates Deployment `hamster` (2 replicas) → ReplicaSet `hamster-rs` → the running
/// [`HAMSTER_PODS`], each requesting 100m / 50Mi, through `client` (no controllers needed).
pub async fn create_hamster(client: &kube::Client) {
    let pp = PostParams::default();
    let template = json!({"metadata": {"labels": {"app": "hamster"}},
        "spec": {"containers": [{"name": "hamster", "image": "hamster"}]}});
    let deployment: Deployment = object(json!({
        "metadata": {"name": "hamster"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hamster"}}, "template": template}
    }));
    let deployment = Api::<Deployment>::namespaced(client.clone(), NS)
        .create(&pp, &deployment)
        .await
        .unwrap();
    let mut rs: ReplicaSet = object(json!({
        "metadata": {"name": "hamster-rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hamster"}}, "template": template}
    }));
    rs.metadata.owner_references = Some(vec![owner(
        "Deployment",
        "hamster",
        deployment.metadata.uid,
    )]);
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), NS)
        .create(&pp, &rs)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for name in HAMSTER_PODS {
        let mut pod: Pod = object(json!({
            "metadata": {"name": name, "labels": {"app": "hamster"}},
            "spec": {"containers": [{"name": "hamster", "image": "hamster",
                "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}]}
        }));
        pod.metadata.owner_references = Some(vec![owner(
            "ReplicaSet",
            "hamster-rs",
            rs.metadata.uid.clone(),
        )]);
        pods.create(&pp, &pod).await.unwrap();
        set_pod_status(&pods, name, 0, false).await;
    }
}

/// Sets a running hamster pod's status; `oom_killed` marks its last termination as an OOM kill.
pub async fn set_pod_status(pods: &Api<Pod>, name: &str, restarts: i32, oom_killed: bool) {
    let last_state = if oom_killed {
        json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "finishedAt": k8s_openapi::jiff::Timestamp::now().to_string()}})
    } else {
        json!({})
    };
    let status = json!({"status": {"phase": "Running", "containerStatuses": [{
        "name": "hamster", "image": "hamster", "imageID": "", "ready": true, "restartCount": restarts,
        "state": {"running": {"startedAt": "2026-11-28T00:00:00Z"}}, "lastState": last_state}]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// A quantity JSON string as a number of units (cores, bytes).
pub fn quantity(v: &Value) -> Option<f64> {
    Some(v.as_str()?.parse::<Quantity>().ok()?.as_f64())
}

/// (CPU, memory) requests of the container `hamster` of a pod (as JSON).
pub fn hamster_requests(pod: &Value) -> Option<(f64, f64)> {
    let c = pod["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == "hamster")?;
    Some((
        quantity(&c["resources"]["requests"]["cpu"])?,
        quantity(&c["resources"]["requests"]["memory"])?,
    ))
}

/// The target of container `hamster` in a VPA's status (as JSON): (CPU cores, memory bytes).
pub fn hamster_target(vpa: &Value) -> Option<(f64, f64)> {
    let recs = vpa["status"]["recommendation"]["containerRecommendations"].as_array()?;
    let rec = recs.iter().find(|r| r["containerName"] == "hamster")?;
    Some((
        quantity(&rec["target"]["cpu"])?,
        quantity(&rec["target"]["memory"])?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_and_targets_from_kubectl_json() {
        let pod = json!({"spec": {"containers": [{"name": "sidecar"},
            {"name": "hamster", "resources": {"requests": {"cpu": "250m", "memory": "200Mi"}}}]}});
        assert_eq!(
            hamster_requests(&pod),
            Some((0.25, 200.0 * 1024.0 * 1024.0))
        );
        let vpa = json!({"status": {"recommendation": {"containerRecommendations": [
            {"containerName": "hamster", "target": {"cpu": "1", "memory": "1Gi"}}]}}});
        assert_eq!(hamster_target(&vpa), Some((1.0, (1u64 << 30) as f64)));
        assert_eq!(hamster_target(&json!({"status": {}})), None);
    }

    #[test]
    fn the_hamster_vpa_targets_the_hamster_container() {
        let vpa = hamster_vpa().build();
        assert_eq!(vpa.metadata.name.as_deref(), Some("hamster-vpa"));
        let recs = vpa.status.unwrap().recommendation.unwrap();
        let recs = recs.container_recommendations.unwrap();
        assert_eq!(recs[0].container_name.as_deref(), Some("hamster"));
    }
}
