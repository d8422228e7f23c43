use std::time::Duration;

use vpa_common::api::{EvictionChangeRequirement, EvictionRequirement};

use super::*;
use crate::test_support::{PodBuilder, VpaBuilder, at, recommendation_of};

const HOUR: i64 = 3600;

fn cpu_vpa(target: &str, lower: &str, upper: &str) -> VerticalPodAutoscaler {
    VpaBuilder::new("ns", "vpa")
        .recommend("app", (target, ""), (lower, ""), (upper, ""))
        .build()
}

fn cpu_pod(name: &str, cpu: &str) -> Pod {
    PodBuilder::new("ns", name)
        .container("app", cpu, "")
        .build()
}

fn names(candidates: &[Candidate<'_>]) -> Vec<String> {
    candidates
        .iter()
        .map(|c| c.pod.metadata.name.clone().unwrap())
        .collect()
}

fn config(min_change: f64) -> PriorityConfig {
    PriorityConfig {
        min_change_priority: min_change,
        ..PriorityConfig::default()
    }
}

#[test]
fn pods_are_ordered_by_largest_relative_difference_first() {
    // Requests 2, 4, 1, 3 cores against a target of 10: diffs 4, 1.5, 9, 2.33.
    let vpa = cpu_vpa("10", "5", "15");
    let pods = [
        cpu_pod("pod1", "2"),
        cpu_pod("pod2", "4"),
        cpu_pod("pod3", "1"),
        cpu_pod("pod4", "3"),
    ];
    let rec = recommendation_of(&vpa);
    let (accepted, skipped) = prioritize(
        &vpa,
        pods.iter().map(|p| (p, rec.clone())),
        at(13 * HOUR),
        &PriorityConfig::default(),
    );
    assert!(skipped.is_empty());
    assert_eq!(names(&accepted), ["pod3", "pod1", "pod4", "pod2"]);
}

#[test]
fn scale_up_goes_before_a_larger_scale_down() {
    let vpa = cpu_vpa("2", "1", "3");
    let pods = [cpu_pod("shrink", "10"), cpu_pod("grow", "1500m")];
    let rec = recommendation_of(&vpa);
    let (accepted, _) = prioritize(
        &vpa,
        pods.iter().map(|p| (p, rec.clone())),
        at(13 * HOUR),
        &PriorityConfig::default(),
    );
    assert_eq!(names(&accepted), ["grow", "shrink"]);
}

#[test]
fn in_range_pods_need_the_threshold_and_out_of_range_pods_do_not() {
    // MinChangePriority 0.5: target 5 vs request 4 is a 0.25 diff (skipped), target 5 vs
    // request 1 is 4.0 (updated). Both are within [1, 6]; a third pod is out of range.
    let vpa = cpu_vpa("5", "1", "6");
    let pods = [
        cpu_pod("small-diff", "4"),
        cpu_pod("large-diff", "1"),
        cpu_pod("out-of-range", "8"),
    ];
    let rec = recommendation_of(&vpa);
    let (accepted, skipped) = prioritize(
        &vpa,
        pods.iter().map(|p| (p, rec.clone())),
        at(13 * HOUR),
        &config(0.5),
    );
    assert_eq!(names(&accepted), ["large-diff", "out-of-range"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].1, Skip::WithinThreshold);
}

#[test]
fn young_pods_are_updated_only_when_out_of_range() {
    let vpa = cpu_vpa("5", "1", "6");
    let pods = [cpu_pod("large-diff", "1"), cpu_pod("out-of-range", "8")];
    let rec = recommendation_of(&vpa);
    let (accepted, skipped) = prioritize(
        &vpa,
        pods.iter().map(|p| (p, rec.clone())),
        at(11 * HOUR),
        &config(0.5),
    );
    assert_eq!(names(&accepted), ["out-of-range"]);
    assert_eq!(skipped[0].1, Skip::RecentlyStarted);
}

#[test]
fn a_pod_without_start_time_is_not_updated_inside_its_range() {
    let vpa = cpu_vpa("5", "1", "6");
    let pod = PodBuilder::new("ns", "p")
        .container("app", "1", "")
        .no_start_time()
        .build();
    let priority = pod_priority(&pod, &recommendation_of(&vpa));
    let result = admit(&pod, &priority, false, at(13 * HOUR), &config(0.5));
    assert_eq!(result, Err(Skip::MissingStartTime));
}

#[test]
fn a_quick_oom_updates_a_young_pod_unless_nothing_would_change() {
    let vpa = cpu_vpa("5", "1", "6");
    let oomed = |cpu: &str| {
        PodBuilder::new("ns", "p")
            .container("app", cpu, "")
            .last_terminated("app", "OOMKilled", 60)
            .build()
    };
    let rec = recommendation_of(&vpa);
    let changing = oomed("4");
    let same = oomed("5");
    let cfg = config(0.5);
    assert!(has_quick_oom(&changing, &vpa, &cfg));
    let (accepted, skipped) = prioritize(
        &vpa,
        [(&changing, rec.clone()), (&same, rec.clone())],
        at(11 * HOUR),
        &cfg,
    );
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].priority.resource_diff, 0.25); // |4 - 5| / 4
    assert_eq!(skipped[0].1, Skip::OomWithoutChange);
}

#[test]
fn an_oom_after_a_long_run_does_not_count() {
    let vpa = cpu_vpa("5", "1", "6");
    let pod = PodBuilder::new("ns", "p")
        .container("app", "4", "")
        .last_terminated("app", "OOMKilled", 11 * 60)
        .build();
    let cfg = config(0.5);
    assert!(!has_quick_oom(&pod, &vpa, &cfg));
    let priority = pod_priority(&pod, &recommendation_of(&vpa));
    assert_eq!(
        admit(&pod, &priority, false, at(11 * HOUR), &cfg),
        Err(Skip::RecentlyStarted)
    );
}

#[test]
fn other_terminations_are_not_quick_ooms() {
    let vpa = cpu_vpa("5", "1", "6");
    let pod = PodBuilder::new("ns", "p")
        .container("app", "4", "")
        .last_terminated("app", "Error", 1)
        .build();
    assert!(!has_quick_oom(&pod, &vpa, &PriorityConfig::default()));
}

#[test]
fn per_vpa_oom_window_applies_only_with_the_feature_gate() {
    let mut vpa = cpu_vpa("5", "1", "6");
    vpa.spec
        .update_policy
        .get_or_insert_with(Default::default)
        .evict_after_oom_seconds = Some(3600);
    let pod = PodBuilder::new("ns", "p")
        .container("app", "4", "")
        .last_terminated("app", "OOMKilled", 30 * 60)
        .build();
    let mut cfg = PriorityConfig::default();
    assert!(!has_quick_oom(&pod, &vpa, &cfg));
    cfg.per_vpa_config = true;
    assert!(has_quick_oom(&pod, &vpa, &cfg));
}

#[test]
fn a_missing_request_is_out_of_range_and_a_scale_up() {
    let vpa = VpaBuilder::new("ns", "vpa")
        .recommend("app", ("1", "100Mi"), ("500m", "50Mi"), ("2", "200Mi"))
        .build();
    let pod = PodBuilder::new("ns", "p").container("app", "1", "").build();
    let priority = pod_priority(&pod, &recommendation_of(&vpa));
    assert!(priority.outside_recommended_range);
    assert!(priority.scale_up);
}

#[test]
fn diffs_sum_over_resources_and_containers() {
    let vpa = VpaBuilder::new("ns", "vpa")
        .recommend("a", ("1", "100Mi"), ("1", "100Mi"), ("1", "100Mi"))
        .recommend("b", ("1", "100Mi"), ("1", "100Mi"), ("1", "100Mi"))
        .build();
    // CPU: requests 1+3 = 4 vs targets 2 -> 0.5; memory: 100Mi+100Mi vs 200Mi -> 0.
    let pod = PodBuilder::new("ns", "p")
        .container("a", "1", "100Mi")
        .container("b", "3", "100Mi")
        .build();
    let priority = pod_priority(&pod, &recommendation_of(&vpa));
    assert_eq!(priority.resource_diff, 0.5);
    assert!(!priority.scale_up);
    assert!(priority.outside_recommended_range);
}

#[test]
fn containers_not_observed_by_the_admission_controller_are_ignored() {
    let vpa = VpaBuilder::new("ns", "vpa")
        .recommend("app", ("1", ""), ("1", ""), ("1", ""))
        .recommend("sidecar", ("5", ""), ("5", ""), ("5", ""))
        .build();
    let pod = PodBuilder::new("ns", "p")
        .container("app", "1", "")
        .container("sidecar", "1", "")
        .annotation(crate::pod::OBSERVED_CONTAINERS_ANNOTATION, "app")
        .last_terminated("sidecar", "OOMKilled", 1)
        .build();
    let priority = pod_priority(&pod, &recommendation_of(&vpa));
    assert_eq!(priority, PodPriority::default());
    assert!(!has_quick_oom(&pod, &vpa, &PriorityConfig::default()));
}

#[test]
fn an_observed_native_sidecar_counts_like_a_container() {
    let vpa = VpaBuilder::new("ns", "vpa")
        .recommend("app", ("1", ""), ("1", ""), ("1", ""))
        .recommend("proxy", ("500m", ""), ("400m", ""), ("600m", ""))
        .build();
    let pod = |observed: &str| {
        let mut pod = PodBuilder::new("ns", "p")
            .container("app", "1", "")
            .annotation(crate::pod::OBSERVED_CONTAINERS_ANNOTATION, observed)
            .build();
        // The admission controller (gate NativeSidecar) lists the sidecar after the containers.
        let sidecar = vpa_common::testutil::PodBuilder::new("ns", "p")
            .init_container("proxy", true)
            .requests("100m", "")
            .build();
        pod.spec.as_mut().unwrap().init_containers = sidecar.spec.unwrap().init_containers;
        pod
    };
    let rec = recommendation_of(&vpa);
    let observed = pod_priority(&pod("app, proxy"), &rec);
    assert!(observed.scale_up && observed.outside_recommended_range);
    // |(1 + 0.1) − (1 + 0.5)| / (1 + 0.1): requests and targets are summed over containers.
    assert!(
        (observed.resource_diff - 0.4 / 1.1).abs() < 1e-9,
        "{observed:?}"
    );
    assert_eq!(pod_priority(&pod("app"), &rec), PodPriority::default());
}

fn requirement(change: EvictionChangeRequirement, resources: &[&str]) -> EvictionRequirement {
    EvictionRequirement {
        resources: resources.iter().map(|r| r.to_string()).collect(),
        change_requirement: change,
    }
}

#[test]
fn eviction_requirements_filter_by_direction() {
    let base = VpaBuilder::new("ns", "vpa").recommend(
        "app",
        ("2", "100Mi"),
        ("1", "50Mi"),
        ("3", "200Mi"),
    );
    let only_up = base
        .eviction_requirements(vec![requirement(
            EvictionChangeRequirement::TargetHigherThanRequests,
            &["cpu", "memory"],
        )])
        .build();
    let growing = PodBuilder::new("ns", "up")
        .container("app", "1", "100Mi")
        .build();
    let shrinking = PodBuilder::new("ns", "down")
        .container("app", "3", "100Mi")
        .build();
    let rec = recommendation_of(&only_up);
    assert!(eviction_requirements_allow(&only_up, &growing, &rec));
    assert!(!eviction_requirements_allow(&only_up, &shrinking, &rec));

    let (accepted, skipped) = prioritize(
        &only_up,
        [(&growing, rec.clone()), (&shrinking, rec.clone())],
        at(13 * HOUR),
        &PriorityConfig::default(),
    );
    assert!(
        skipped.is_empty(),
        "priority alone ignores the requirements"
    );
    assert_eq!(names(&accepted), ["up", "down"], "scale-up first");
    let (evictable, denied) = admit_evictions(&only_up, accepted);
    assert_eq!(names(&evictable), ["up"]);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].0.metadata.name.as_deref(), Some("down"));
    assert_eq!(denied[0].1, Skip::EvictionRequirements);
}

#[test]
fn eviction_requirements_let_pods_without_requests_through() {
    let vpa = VpaBuilder::new("ns", "vpa")
        .recommend("app", ("2", "100Mi"), ("1", "50Mi"), ("3", "200Mi"))
        .eviction_requirements(vec![requirement(
            EvictionChangeRequirement::TargetLowerThanRequests,
            &["cpu"],
        )])
        .build();
    let no_memory = PodBuilder::new("ns", "p").container("app", "1", "").build();
    assert!(eviction_requirements_allow(
        &vpa,
        &no_memory,
        &recommendation_of(&vpa)
    ));
}

#[test]
fn default_config_matches_upstream() {
    let cfg = PriorityConfig::default();
    assert_eq!(cfg.min_change_priority, 0.1);
    assert_eq!(
        cfg.pod_lifetime_update_threshold,
        Duration::from_secs(43_200)
    );
    assert_eq!(cfg.evict_after_oom_threshold, Duration::from_secs(600));
}
