use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use vpa_common::api::UpdateMode;

use super::*;
use crate::config::NamespaceFilter;
use crate::infeasible::InfeasibleAttempts;
use crate::resize::ResizeTimers;
use crate::test_support::{PodBuilder, VpaBuilder, at};
use vpa_common::controllers::{ControllerInfo, Controllers, Replicas};

/// Deployment `app` → ReplicaSet `app-rs` (2 replicas) selecting `app=app`, in `ns`.
fn controllers() -> Controllers {
    let selector = LabelSelector {
        match_labels: Some([("app".to_string(), "app".to_string())].into()),
        ..Default::default()
    };
    let mut c = Controllers::default();
    c.insert(
        "ns",
        "Deployment",
        "app",
        ControllerInfo::new(None, Some(selector.clone()), Some(Replicas::Desired(2))),
    );
    c.insert(
        "ns",
        "ReplicaSet",
        "app-rs",
        ControllerInfo::new(
            Some(vpa_common::testutil::owner_ref("Deployment", "app")),
            Some(selector),
            Some(Replicas::Desired(2)),
        ),
    );
    c
}

fn pod(name: &str, cpu: &str) -> Arc<Pod> {
    Arc::new(
        PodBuilder::new("ns", name)
            .owner("ReplicaSet", "app-rs")
            .label("app", "app")
            .container("app", cpu, "100Mi")
            .limits("", "")
            .build(),
    )
}

fn app_vpa(name: &str, mode: UpdateMode) -> VpaBuilder {
    VpaBuilder::new("ns", name)
        .with(|b| b.target_ref("Deployment", "app"))
        .mode(mode)
        .recommend("app", ("500m", "100Mi"), ("400m", "50Mi"), ("1", "200Mi"))
}

fn snapshot(vpas: Vec<VerticalPodAutoscaler>, pods: Vec<Arc<Pod>>) -> Snapshot {
    Snapshot {
        vpas: vpas.into_iter().map(Arc::new).collect(),
        pods,
        limit_ranges: Vec::new(),
        controllers: controllers(),
    }
}

fn names(updates: &[PodUpdate<'_>]) -> Vec<String> {
    updates
        .iter()
        .map(|u| u.pod.metadata.name.clone().unwrap())
        .collect()
}

fn plan_of<'a>(s: &'a Snapshot, config: &UpdaterConfig) -> Plan<'a> {
    plan_with(s, config, &InfeasibleAttempts::default())
}

fn plan_with<'a>(
    s: &'a Snapshot,
    config: &UpdaterConfig,
    infeasible: &InfeasibleAttempts,
) -> Plan<'a> {
    let history = PodHistory {
        timers: &ResizeTimers::default(),
        infeasible,
    };
    plan(s, history, at(100 * 3600), config)
}

#[test]
fn pods_go_to_the_oldest_vpa_targeting_their_topmost_controller() {
    let young = app_vpa("young", UpdateMode::Recreate)
        .with(|b| b.created(2000))
        .build();
    let old = app_vpa("old", UpdateMode::Recreate)
        .with(|b| b.created(1000))
        .build();
    let elsewhere = app_vpa("other", UpdateMode::Recreate)
        .with(|b| b.target_ref("Deployment", "other").created(1))
        .build();
    let s = snapshot(
        vec![young, old, elsewhere],
        vec![pod("a", "100m"), pod("b", "100m")],
    );
    let p = plan_of(&s, &UpdaterConfig::default());
    let pods_of = |name: &str| {
        p.vpas
            .iter()
            .find(|v| v.vpa.metadata.name.as_deref() == Some(name))
            .map(|v| v.pods.len())
    };
    assert_eq!(pods_of("old"), Some(2));
    assert_eq!(pods_of("young"), Some(0));
    assert_eq!(pods_of("other"), Some(0));
}

#[test]
fn vpas_that_do_not_update_running_pods_are_skipped_with_a_reason() {
    let mut no_rec = app_vpa("none", UpdateMode::Recreate).build();
    no_rec.status = None;
    let s = snapshot(
        vec![
            app_vpa("off", UpdateMode::Off).build(),
            app_vpa("initial", UpdateMode::Initial).build(),
            app_vpa("inplace", UpdateMode::InPlace).build(),
            no_rec,
        ],
        vec![pod("a", "100m"), pod("b", "100m")],
    );
    let p = plan_of(&s, &UpdaterConfig::default());
    assert!(p.vpas.is_empty());
    let reasons: Vec<VpaSkip> = p.skipped_vpas.iter().map(|(_, r)| *r).collect();
    assert_eq!(
        reasons,
        [
            VpaSkip::ModeOff,
            VpaSkip::ModeOff,
            VpaSkip::InPlaceGateDisabled,
            VpaSkip::NoRecommendation
        ]
    );
}

#[test]
fn ignored_namespaces_are_skipped() {
    let s = snapshot(vec![app_vpa("v", UpdateMode::Recreate).build()], vec![]);
    let config = UpdaterConfig {
        namespaces: NamespaceFilter {
            only: None,
            ignored: vec!["ns".into()],
        },
        ..UpdaterConfig::default()
    };
    let p = plan_of(&s, &config);
    assert_eq!(p.skipped_vpas[0].1, VpaSkip::Namespace);
}

#[test]
fn recreate_plans_evictions_in_priority_order() {
    let s = snapshot(
        vec![app_vpa("v", UpdateMode::Recreate).build()],
        vec![pod("small", "300m"), pod("tiny", "100m")],
    );
    let p = plan_of(&s, &UpdaterConfig::default());
    let v = &p.vpas[0];
    assert_eq!(names(&v.evict), ["tiny", "small"]);
    assert!(v.in_place.is_empty());
}

#[test]
fn the_capped_target_decides_so_a_pod_at_max_allowed_is_left_alone() {
    let capped = app_vpa("v", UpdateMode::Recreate)
        .with(|b| b.container("app").max_allowed("100m", ""))
        .build();
    let s = snapshot(vec![capped], vec![pod("a", "100m"), pod("b", "100m")]);
    let p = plan_of(&s, &UpdaterConfig::default());
    assert!(p.vpas[0].evict.is_empty());
    assert!(
        p.vpas[0]
            .skipped
            .iter()
            .all(|(_, s)| *s == PodSkip::Priority(priority::Skip::WithinThreshold))
    );

    let uncapped = snapshot(
        vec![app_vpa("v", UpdateMode::Recreate).build()],
        vec![pod("a", "100m"), pod("b", "100m")],
    );
    assert_eq!(
        plan_of(&uncapped, &UpdaterConfig::default()).vpas[0]
            .evict
            .len(),
        2
    );
}

#[test]
fn in_place_plans_carry_the_new_requests_and_proportional_limits() {
    let with_limits = Arc::new(
        PodBuilder::new("ns", "a")
            .owner("ReplicaSet", "app-rs")
            .label("app", "app")
            .container("app", "100m", "100Mi")
            .limits("300m", "")
            .build(),
    );
    let s = snapshot(
        vec![app_vpa("v", UpdateMode::InPlaceOrRecreate).build()],
        vec![with_limits, pod("b", "100m")],
    );
    let p = plan_of(&s, &UpdaterConfig::default());
    let v = &p.vpas[0];
    assert!(v.evict.is_empty());
    let a = v
        .in_place
        .iter()
        .find(|u| u.pod.metadata.name.as_deref() == Some("a"))
        .unwrap();
    assert_eq!(a.resizes.len(), 1);
    assert_eq!(a.resizes[0].requests["cpu"].0, "500m");
    assert_eq!(
        a.resizes[0].limits["cpu"].0, "1500m",
        "3:1 limit ratio kept"
    );
}

#[test]
fn pods_being_deleted_are_not_controlled() {
    let mut deleting = (*pod("a", "100m")).clone();
    deleting.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(5)));
    let s = snapshot(
        vec![app_vpa("v", UpdateMode::Recreate).build()],
        vec![Arc::new(deleting), pod("b", "100m")],
    );
    assert_eq!(plan_of(&s, &UpdaterConfig::default()).vpas[0].pods.len(), 1);
}

fn in_place_gate() -> UpdaterConfig {
    UpdaterConfig {
        in_place_gate: true,
        ..UpdaterConfig::default()
    }
}

#[test]
fn in_place_mode_is_planned_only_with_its_feature_gate_and_never_evicts() {
    let s = snapshot(
        vec![app_vpa("v", UpdateMode::InPlace).build()],
        vec![pod("a", "100m"), pod("b", "100m")],
    );
    let without = plan_of(&s, &UpdaterConfig::default());
    assert!(without.vpas.is_empty());
    assert_eq!(without.skipped_vpas[0].1, VpaSkip::InPlaceGateDisabled);

    let with = plan_of(&s, &in_place_gate());
    let v = &with.vpas[0];
    assert_eq!(v.mode, UpdateMode::InPlace);
    assert!(v.evict.is_empty());
    assert_eq!(names(&v.in_place).len(), 2);
    assert!(v.in_place.iter().all(|u| !u.eviction_allowed));
    assert_eq!(v.in_place[0].resizes[0].requests["cpu"].0, "500m");
}

#[test]
fn eviction_requirements_gate_evictions_but_not_in_place_resizes() {
    use vpa_common::api::{EvictionChangeRequirement, EvictionRequirement};
    let only_down = |mode| {
        app_vpa("v", mode)
            .eviction_requirements(vec![EvictionRequirement {
                resources: vec!["cpu".into()],
                change_requirement: EvictionChangeRequirement::TargetLowerThanRequests,
            }])
            .build()
    };
    let pods = || vec![pod("a", "100m"), pod("b", "100m")];
    // Both pods want more CPU (100m → 500m), which the requirement forbids evicting for.
    let recreate = snapshot(vec![only_down(UpdateMode::Recreate)], pods());
    let p = plan_of(&recreate, &UpdaterConfig::default());
    assert!(p.vpas[0].evict.is_empty());
    assert!(
        p.vpas[0]
            .skipped
            .iter()
            .all(|(_, s)| *s == PodSkip::Priority(priority::Skip::EvictionRequirements))
    );

    for mode in [UpdateMode::InPlaceOrRecreate, UpdateMode::InPlace] {
        let s = snapshot(vec![only_down(mode)], pods());
        let p = plan_of(&s, &in_place_gate());
        let v = &p.vpas[0];
        assert_eq!(names(&v.in_place), ["a", "b"], "{mode:?}: resized anyway");
        assert!(v.skipped.is_empty(), "{mode:?}: {:?}", v.skipped);
        assert!(
            v.in_place.iter().all(|u| !u.eviction_allowed),
            "{mode:?}: but a fallback may not evict"
        );
    }
    let unrestricted = snapshot(
        vec![app_vpa("v", UpdateMode::InPlaceOrRecreate).build()],
        pods(),
    );
    let p = plan_of(&unrestricted, &UpdaterConfig::default());
    assert!(p.vpas[0].in_place.iter().all(|u| u.eviction_allowed));
}

#[test]
fn an_infeasible_pod_in_in_place_mode_waits_for_a_lower_target() {
    let infeasible = Arc::new(
        PodBuilder::new("ns", "a")
            .owner("ReplicaSet", "app-rs")
            .label("app", "app")
            .container("app", "100m", "100Mi")
            .limits("", "")
            .condition("PodResizePending", Some("Infeasible"))
            .build(),
    );
    let s = snapshot(
        vec![app_vpa("v", UpdateMode::InPlace).build()],
        vec![infeasible.clone(), pod("b", "100m")],
    );
    let attempted = |cpu: &str| {
        let mut memory = InfeasibleAttempts::default();
        let vpa = app_vpa("v", UpdateMode::InPlace)
            .recommend("app", (cpu, "100Mi"), (cpu, "50Mi"), (cpu, "200Mi"))
            .build();
        memory.record(&infeasible, &crate::test_support::recommendation_of(&vpa));
        memory
    };
    // First sighting: nothing recorded, the pod is retried.
    let p = plan_of(&s, &in_place_gate());
    assert_eq!(names(&p.vpas[0].in_place), ["a", "b"]);
    // The same 500m was attempted: left alone.
    let same = attempted("500m");
    let p = plan_with(&s, &in_place_gate(), &same);
    assert_eq!(names(&p.vpas[0].in_place), ["b"]);
    assert_eq!(
        p.vpas[0].skipped,
        [(PodKey::of(&infeasible), PodSkip::InfeasibleAttempt)]
    );
    // 800m was attempted and the target is now 500m: retried.
    let higher = attempted("800m");
    let p = plan_with(&s, &in_place_gate(), &higher);
    assert_eq!(names(&p.vpas[0].in_place), ["a", "b"]);
}

#[test]
fn a_group_below_min_replicas_is_resized_in_place_only_when_the_budget_is_skipped() {
    // One live pod of a two-replica ReplicaSet, below the default --min-replicas of 2.
    let one = || vec![pod("a", "100m")];
    let mut skip_budget = in_place_gate();
    skip_budget.restriction.in_place_skip_disruption_budget = true;
    for mode in [UpdateMode::InPlaceOrRecreate, UpdateMode::InPlace] {
        let s = snapshot(vec![app_vpa("v", mode).build()], one());
        let p = plan_of(&s, &in_place_gate());
        assert!(p.vpas[0].in_place.is_empty(), "{mode:?}");
        assert_eq!(
            p.vpas[0].skipped[0].1,
            PodSkip::Deferred(Defer::Blocked(Blocked::TooFewReplicas))
        );
        let p = plan_of(&s, &skip_budget);
        assert_eq!(names(&p.vpas[0].in_place), ["a"], "{mode:?}");
        let a = p.vpas[0].pods[0];
        assert_eq!(
            p.vpas[0]
                .restriction
                .can_evict(a, std::time::Duration::ZERO),
            Err(Blocked::TooFewReplicas),
            "{mode:?}: never evicted"
        );
    }
    // Recreate keeps the replica floor whatever the flag says.
    let s = snapshot(vec![app_vpa("v", UpdateMode::Recreate).build()], one());
    let p = plan_of(&s, &skip_budget);
    assert!(p.vpas[0].evict.is_empty());
    assert_eq!(
        p.vpas[0].skipped[0].1,
        PodSkip::Blocked(Blocked::TooFewReplicas)
    );
}
