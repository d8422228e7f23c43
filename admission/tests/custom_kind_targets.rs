//! A VPA targeting a kind outside the well-known controllers (an Argo-Rollout-like custom
//! resource with a scale subresource): the admission controller's watch-backed view resolves the
//! target's selector through `/scale` and walks a new pod's owners up to it, so the pod matches
//! the VPA as upstream's webhook would.

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;
use vpa_admission_controller::cache::ReflectorView;
use vpa_admission_controller::view::ClusterView;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::{ControllerKey, ControllerLookup, vpa_for_pod};
use vpa_test_support::sim_cluster::sim_with_vpa_crds;

const NS: &str = "default";

fn rollout_key() -> ControllerKey {
    ControllerKey {
        kind: "Rollout".into(),
        name: "web".into(),
        api_version: "example.com/v1".into(),
    }
}

#[tokio::test]
async fn a_pod_owned_through_a_scalable_custom_kind_matches_its_vpa() {
    let (_sim, client) = sim_with_vpa_crds(&[]).await;
    let rollout = vpa_common::testutil::create_rollout(&client, NS, "web", "web", 2).await;
    let rs: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "web-6d4f", "ownerReferences": [{"apiVersion": "example.com/v1", "kind": "Rollout",
            "name": "web", "uid": rollout.metadata.uid, "controller": true}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web"}]}}}
    }))
    .unwrap();
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &rs)
        .await
        .unwrap();
    let vpa: VerticalPodAutoscaler = serde_json::from_value(json!({
        "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "web-vpa", "namespace": NS},
        "spec": {"targetRef": {"apiVersion": "example.com/v1", "kind": "Rollout", "name": "web"}}
    }))
    .unwrap();
    Api::<VerticalPodAutoscaler>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &vpa)
        .await
        .unwrap();
    // The pod as the webhook sees it on CREATE (not stored).
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-6d4f-x", "namespace": NS, "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4f",
                "uid": rs.metadata.uid, "controller": true}]},
        "spec": {"containers": [{"name": "web", "image": "web"}]}
    }))
    .unwrap();

    let view = ReflectorView::start(&client, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let matched = loop {
        if view.is_synced() {
            let vpas = view.vpas(NS);
            let found = vpa_for_pod(&pod, vpas.iter().map(|v| &*v.vpa), &view)
                .unwrap()
                .and_then(|v| v.metadata.name.clone());
            if let Some(name) = found {
                break name;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pod never matched the Rollout's VPA (synced: {}, VPAs: {}, Rollout scalable: {}, selector: {:?})",
            view.is_synced(),
            view.vpas(NS).len(),
            view.is_scalable(&rollout_key()),
            view.selector(NS, &rollout_key()),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(matched, "web-vpa");
}
