//! VPAs targeting a kind outside the well-known controllers (an Argo-Rollout-like custom
//! resource with a scale subresource): the updater resolves the target's selector through the
//! scale subresource and walks pods' owners up to it, as upstream does.

use std::time::Duration;

mod support;

use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use support::{NS, drifted_app, pod_names, sim, start_updater};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::ratelimit::Rate;

#[tokio::test]
async fn a_vpa_targeting_a_scalable_custom_kind_gets_its_pods_evicted() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
    let uid = vpa_common::testutil::create_rollout(&client, NS, "app", "app", 2)
        .await
        .metadata
        .uid
        .unwrap();
    // The ReplicaSet now belongs to the Rollout, and the VPA targets the Rollout.
    let owner = json!({"metadata": {"ownerReferences": [{"apiVersion": "example.com/v1", "kind": "Rollout",
        "name": "app", "uid": uid, "controller": true}]}});
    Api::<ReplicaSet>::namespaced(client.clone(), NS)
        .patch("app-rs", &PatchParams::default(), &Patch::Merge(owner))
        .await
        .unwrap();
    let target = json!({"spec": {"targetRef": {"apiVersion": "example.com/v1", "kind": "Rollout", "name": "app"}}});
    Api::<VerticalPodAutoscaler>::namespaced(client.clone(), NS)
        .patch("app-vpa", &PatchParams::default(), &Patch::Merge(target))
        .await
        .unwrap();

    let config = UpdaterConfig {
        interval: Duration::from_secs(20),
        eviction_rate: Rate {
            per_second: -1.0,
            burst: 1,
        },
        ..UpdaterConfig::default()
    };
    let mut updater = start_updater(client.clone(), config).await;
    // The caches must have seen both patches before the loop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = updater.run_once().await;
    assert_eq!(report.skipped, None, "{report:?}");
    assert_eq!(
        report.evicted.len(),
        1,
        "one of the Rollout's two drifted pods is evicted (tolerance 50%): {report:?}"
    );
    assert_eq!(pod_names(&client).await.len(), 1);
}
