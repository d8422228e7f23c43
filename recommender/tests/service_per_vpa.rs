//! Per-VPA aggregation settings (feature gate `PerVPAConfig`) through the running service against
//! the in-memory API server: a VPA's `oomBumpUpRatio` and `oomMinBumpUp` set the memory bump after
//! an OOM kill when the gate is on, and are ignored (the flags apply) when it is off.

mod support;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Api;
use kube::api::{Patch, PatchParams};
use support::*;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::testutil::VpaBuilder;

/// Memory target after an OOM kill of one hamster pod, with a VPA asking for a bump of 3× (and
/// no minimum) and the gate as given.
async fn target_after_oom(per_vpa_config: bool) -> i64 {
    let c = hamster_sim().await;
    let vpa = VpaBuilder::new(NS, "hamster-vpa")
        .container("hamster")
        .policy_with(|p| {
            p.oom_bump_up_ratio = Some(Quantity("3".into()));
            p.oom_min_bump_up = Some(Quantity("0".into()));
        })
        .build();
    Api::<VerticalPodAutoscaler>::namespaced(c.client.clone(), NS)
        .patch(
            "hamster-vpa",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": vpa.spec})),
        )
        .await
        .unwrap();
    let mut config = config();
    config.gates.per_vpa_config = per_vpa_config;
    let (_, after) = memory_target_around_an_oom(&c, config).await;
    after
}

#[tokio::test]
async fn per_vpa_oom_bump_is_honoured_with_the_gate() {
    // max(300Mi + 0, 300Mi × 3) = 900Mi, plus the margin.
    let after = target_after_oom(true).await;
    assert!(after >= 900 * MIB * 115 / 100, "memory after OOM {after}");
}

#[tokio::test]
async fn per_vpa_oom_bump_is_ignored_without_the_gate() {
    // The flags' max(300Mi + 100Mi, 300Mi × 1.2) = 400Mi, plus the margin and a bucket's width.
    let after = target_after_oom(false).await;
    assert!(
        (400 * MIB * 115 / 100..500 * MIB * 115 / 100).contains(&after),
        "memory after OOM {after}"
    );
}
