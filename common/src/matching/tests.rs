//! Matching pods to VPAs (spec §5).

use super::*;
use crate::api::VerticalPodAutoscaler;
use crate::controllers::Controllers;
use crate::testutil::{PodBuilder, VpaBuilder};

fn hamster_pod() -> Pod {
    PodBuilder::new("ns", "hamster-1")
        .owner("ReplicaSet", "hamster-rs")
        .label("app", "hamster")
        .container("app")
        .build()
}

#[test]
fn pod_walks_to_topmost_deployment() {
    let lookup = Controllers::default().with_deployment("ns", "hamster");
    let pod = hamster_pod();
    let owners = pod.metadata.owner_references.clone().unwrap();
    let top = topmost_controller("ns", &owners, &lookup).unwrap().unwrap();
    assert_eq!(
        (top.kind.as_str(), top.name.as_str()),
        ("Deployment", "hamster")
    );
}

#[test]
fn vpa_targeting_the_deployment_matches() {
    let lookup = Controllers::default().with_deployment("ns", "hamster");
    let vpa = VpaBuilder::new("ns", "hamster-vpa").build();
    let got = vpa_for_pod(&hamster_pod(), [&vpa], &lookup).unwrap();
    assert_eq!(
        got.and_then(|v| v.metadata.name.as_deref()),
        Some("hamster-vpa")
    );
}

#[test]
fn vpa_targeting_the_replicaset_does_not_match() {
    let lookup = Controllers::default().with_deployment("ns", "hamster");
    let vpa = VpaBuilder::new("ns", "v")
        .target_ref("ReplicaSet", "hamster-rs")
        .build();
    assert!(
        vpa_for_pod(&hamster_pod(), [&vpa], &lookup)
            .unwrap()
            .is_none()
    );
}

#[test]
fn vpa_in_other_namespace_or_with_non_matching_selector_does_not_match() {
    let lookup = Controllers::default()
        .with_deployment("ns", "hamster")
        .with("ns", "Deployment", "other", None, &[("app", "other")]);
    let elsewhere = VpaBuilder::new("other-ns", "hamster-vpa").build();
    assert!(
        vpa_for_pod(&hamster_pod(), [&elsewhere], &lookup)
            .unwrap()
            .is_none()
    );
    // A VPA whose target selects other labels, even if the pod were owned by it.
    let pod = PodBuilder::new("ns", "p")
        .owner("Deployment", "other")
        .label("app", "hamster")
        .build();
    let vpa = VpaBuilder::new("ns", "v")
        .target_ref("Deployment", "other")
        .build();
    assert!(vpa_for_pod(&pod, [&vpa], &lookup).unwrap().is_none());
}

#[test]
fn oldest_vpa_wins_and_ties_go_to_smaller_name() {
    let lookup = Controllers::default().with_deployment("ns", "hamster");
    let newer = VpaBuilder::new("ns", "a")
        .target_ref("Deployment", "hamster")
        .created(2000)
        .build();
    let older = VpaBuilder::new("ns", "z")
        .target_ref("Deployment", "hamster")
        .created(1000)
        .build();
    let older_b = VpaBuilder::new("ns", "b")
        .target_ref("Deployment", "hamster")
        .created(1000)
        .build();
    let name = |v: Option<&VerticalPodAutoscaler>| v.and_then(|v| v.metadata.name.clone());
    let pod = hamster_pod();
    assert_eq!(
        name(vpa_for_pod(&pod, [&newer, &older], &lookup).unwrap()),
        Some("z".into())
    );
    assert_eq!(
        name(vpa_for_pod(&pod, [&older, &older_b, &newer], &lookup).unwrap()),
        Some("b".into())
    );
}

#[test]
fn pods_without_controller_or_owned_by_node_match_nothing() {
    let lookup = Controllers::default();
    let bare = PodBuilder::new("ns", "p").build();
    let static_pod = PodBuilder::new("ns", "p").owner("Node", "node-1").build();
    let vpa = VpaBuilder::new("ns", "v").build();
    assert!(vpa_for_pod(&bare, [&vpa], &lookup).unwrap().is_none());
    assert!(vpa_for_pod(&static_pod, [&vpa], &lookup).unwrap().is_none());
}

#[test]
fn missing_well_known_owner_is_an_error() {
    let lookup = Controllers::default();
    let err = vpa_for_pod(&hamster_pod(), [], &lookup).unwrap_err();
    assert_eq!(err.metric_label(), "controller_missing");
}

#[test]
fn ownership_cycle_is_an_error_not_a_hang() {
    let lookup = Controllers::default()
        .with("ns", "ReplicaSet", "a", Some(("Deployment", "b")), &[])
        .with("ns", "Deployment", "b", Some(("ReplicaSet", "a")), &[]);
    let pod = PodBuilder::new("ns", "p").owner("ReplicaSet", "a").build();
    assert!(matches!(
        vpa_for_pod(&pod, [], &lookup),
        Err(OwnerError::Cycle(_))
    ));
}

#[test]
fn custom_scalable_owner_above_well_known_becomes_topmost() {
    let lookup = Controllers::default()
        .with(
            "ns",
            "StatefulSet",
            "db",
            Some(("Cluster", "pg")),
            &[("app", "db")],
        )
        .with_scale_target("ns", "Cluster", "pg", &[("app", "db")]);
    let pod = PodBuilder::new("ns", "db-0")
        .owner("StatefulSet", "db")
        .label("app", "db")
        .build();
    let vpa = VpaBuilder::new("ns", "v")
        .target_ref("Cluster", "pg")
        .build();
    assert!(vpa_for_pod(&pod, [&vpa], &lookup).unwrap().is_some());
    // Not scalable: the StatefulSet stays topmost.
    let plain = Controllers::default().with(
        "ns",
        "StatefulSet",
        "db",
        Some(("Cluster", "pg")),
        &[("app", "db")],
    );
    let owners = pod.metadata.owner_references.clone().unwrap();
    assert_eq!(
        topmost_controller("ns", &owners, &plain)
            .unwrap()
            .unwrap()
            .kind,
        "StatefulSet"
    );
}
