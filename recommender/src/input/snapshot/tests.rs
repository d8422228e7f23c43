use std::collections::BTreeMap;

use vpa_common::api::VerticalPodAutoscalerRecommenderSelector;
use vpa_common::testutil::{PodBuilder, VpaBuilder, owner_ref};

use vpa_common::controllers::ControllerInfo;

use super::*;
use crate::input::vpa::CachedVpa;

fn selector(app: &str) -> LabelSelector {
    vpa_common::matching::selector_from_labels(&BTreeMap::from([(
        "app".to_string(),
        app.to_string(),
    )]))
}

/// Deployment `web` owning ReplicaSet `web-rs`, both selecting `app=web`.
fn controllers() -> Controllers {
    let mut c = Controllers::default();
    c.insert(
        "ns",
        "Deployment",
        "web",
        ControllerInfo::new(None, Some(selector("web")), None),
    );
    c.insert(
        "ns",
        "ReplicaSet",
        "web-rs",
        ControllerInfo::new(
            Some(owner_ref("Deployment", "web")),
            Some(selector("web")),
            None,
        ),
    );
    c
}

fn with_recommenders(names: &[&str]) -> VerticalPodAutoscaler {
    let mut vpa = VpaBuilder::new("ns", "web-vpa").build();
    vpa.spec.recommenders = Some(
        names
            .iter()
            .map(|n| VerticalPodAutoscalerRecommenderSelector {
                name: n.to_string(),
            })
            .collect(),
    );
    vpa
}

#[test]
fn default_recommender_handles_vpas_naming_none_or_default() {
    assert!(handles(&VpaBuilder::new("ns", "a").build(), "default"));
    assert!(handles(&with_recommenders(&[]), "default"));
    assert!(handles(&with_recommenders(&["default"]), "default"));
    assert!(!handles(&with_recommenders(&["custom"]), "default"));
    assert!(handles(&with_recommenders(&["custom"]), "custom"));
    assert!(!handles(&VpaBuilder::new("ns", "a").build(), "custom"));
}

#[test]
fn deployment_target_resolves_to_its_workload_and_selector() {
    let vpa = VpaBuilder::new("ns", "web-vpa").build();
    let target = resolve_target(&vpa, &controllers()).unwrap();
    assert_eq!(target.workload, "Deployment/web");
    assert_eq!(*target.selector, selector("web"));
}

#[test]
fn missing_or_non_topmost_targets_are_unsupported() {
    let missing = VpaBuilder::new("ns", "gone-vpa").build();
    let why = resolve_target(&missing, &controllers()).unwrap_err();
    assert!(why.contains("not found"), "{why}");
    let child = VpaBuilder::new("ns", "x")
        .target_ref("ReplicaSet", "web-rs")
        .build();
    let why = resolve_target(&child, &controllers()).unwrap_err();
    assert!(why.contains("has a parent"), "{why}");
}

#[test]
fn other_kinds_resolve_through_their_scale_subresource() {
    let mut c = controllers();
    c.insert_scale("ns", "Rollout", "canary", Ok(selector("canary")));
    c.insert_scale("ns", "Widget", "w", Err("no scale subresource".into()));
    let rollout = VpaBuilder::new("ns", "r")
        .target_ref("Rollout", "canary")
        .build();
    assert_eq!(
        resolve_target(&rollout, &c).unwrap().workload,
        "Rollout/canary"
    );
    let widget = VpaBuilder::new("ns", "w").target_ref("Widget", "w").build();
    assert!(
        resolve_target(&widget, &c)
            .unwrap_err()
            .contains("no scale subresource")
    );
    assert!(c.is_scalable(&ControllerKey {
        kind: "Rollout".into(),
        name: "x".into(),
        api_version: String::new()
    }));
}

#[test]
fn pods_map_to_their_topmost_controller_and_skip_init_containers() {
    let pod = PodBuilder::new("ns", "web-rs-abc")
        .owner("ReplicaSet", "web-rs")
        .label("app", "web")
        .container("app")
        .init_container("setup", false)
        .build();
    let info = pod_info(&Arc::new(CachedPod::from(&pod)), &controllers());
    assert_eq!(info.workload.as_deref(), Some("Deployment/web"));
    let names: Vec<&str> = info.containers.iter().map(|c| &*c.name).collect();
    assert_eq!(names, ["app"]);
    let orphan = PodBuilder::new("ns", "lonely").container("app").build();
    assert_eq!(
        pod_info(&Arc::new(CachedPod::from(&orphan)), &controllers()).workload,
        None
    );
}

#[test]
fn snapshot_keeps_handled_vpas_of_allowed_namespaces_sorted() {
    let vpas: Vec<Arc<CachedVpa>> = [
        VpaBuilder::new("ns", "web-vpa").build(),
        VpaBuilder::new("ns", "a-vpa").build(),
        with_recommenders(&["custom"]),
        VpaBuilder::new("kube-system", "dns-vpa").build(),
    ]
    .map(|v| Arc::new(CachedVpa::from(v)))
    .into();
    let filter = NamespaceFilter {
        only: None,
        ignored: vec!["kube-system".into()],
    };
    let s = build(7, &vpas, &[], &controllers(), "default", &filter);
    let names: Vec<&str> = s.vpas.iter().map(|v| v.name()).collect();
    assert_eq!(names, ["a-vpa", "web-vpa"]);
    assert!(s.vpas[0].target.is_err(), "a's Deployment does not exist");
    assert_eq!(s.now, 7);
}
