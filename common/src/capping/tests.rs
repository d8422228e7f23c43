//! Capping cases: upstream's capping tests and the admission e2e numbers of spec §7.1/§7.2.

use super::*;
use crate::api::{ContainerControlledValues, ContainerResourcePolicy};
use crate::limitrange::LimitBounds;

const MI: i64 = 1 << 20;

fn am(cpu: i64, mem: i64) -> Amounts {
    let mut a = Amounts::new();
    if cpu >= 0 {
        a.insert(CPU.into(), cpu);
    }
    if mem >= 0 {
        a.insert(MEMORY.into(), mem);
    }
    a
}

fn rec(name: &str, target: Amounts) -> ContainerRecommendation {
    ContainerRecommendation::new(name, target)
}

fn q(cpu: &str, mem: &str) -> Option<crate::api::ResourceList> {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    Some(
        [
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(mem.into())),
        ]
        .into(),
    )
}

fn policy(name: &str, min: Option<(&str, &str)>, max: Option<(&str, &str)>) -> PodResourcePolicy {
    PodResourcePolicy {
        container_policies: Some(vec![ContainerResourcePolicy {
            container_name: Some(name.into()),
            min_allowed: min.and_then(|(c, m)| q(c, m)),
            max_allowed: max.and_then(|(c, m)| q(c, m)),
            ..Default::default()
        }]),
    }
}

fn container_lr(min: Amounts, max: Amounts, default: Amounts) -> NamespaceLimits {
    NamespaceLimits {
        container: Some(LimitBounds { min, max, default }),
        pod: None,
    }
}

fn pod_lr(min: Amounts, max: Amounts) -> NamespaceLimits {
    NamespaceLimits {
        container: None,
        pod: Some(LimitBounds {
            min,
            max,
            default: Amounts::new(),
        }),
    }
}

#[test]
fn caps_target_to_max_allowed_with_notes() {
    let p = policy("app", None, Some(("233m", "150Mi")));
    let pod = [PodContainer::new("app", am(100, 100 * MI), Amounts::new())];
    let out = cap_for_pod(
        &[rec("app", am(250, 200 * MI))],
        Some(&p),
        &pod,
        &NamespaceLimits::default(),
    );
    assert_eq!(out.recommendations[0].target, am(233, 150 * MI));
    assert_eq!(
        out.notes["app"],
        vec!["cpu capped to maxAllowed", "memory capped to maxAllowed"]
    );
}

#[test]
fn raises_target_to_min_allowed() {
    let p = policy("*", Some(("500m", "1Gi")), None);
    let pod = [PodContainer::new("app", am(100, 100 * MI), Amounts::new())];
    let out = cap_for_pod(
        &[rec("app", am(250, 200 * MI))],
        Some(&p),
        &pod,
        &NamespaceLimits::default(),
    );
    assert_eq!(out.recommendations[0].target, am(500, 1024 * MI));
    assert_eq!(
        out.notes["app"],
        vec!["cpu capped to minAllowed", "memory capped to minAllowed"]
    );
}

#[test]
fn bounds_are_capped_silently_and_uncapped_target_is_untouched() {
    let p = policy("app", Some(("100m", "")), Some(("1", "1Gi")));
    let r = ContainerRecommendation {
        container_name: "app".into(),
        target: am(2000, 2048 * MI),
        lower_bound: am(50, 10 * MI),
        upper_bound: am(5000, 4096 * MI),
        uncapped_target: am(2000, 2048 * MI),
    };
    let pod = [PodContainer::new("app", Amounts::new(), Amounts::new())];
    let out = cap_for_pod(&[r], Some(&p), &pod, &NamespaceLimits::default());
    let got = &out.recommendations[0];
    assert_eq!(got.lower_bound, am(100, 10 * MI));
    assert_eq!(got.upper_bound, am(1000, 1024 * MI));
    assert_eq!(got.uncapped_target, am(2000, 2048 * MI));
    assert_eq!(
        out.notes["app"],
        vec!["cpu capped to maxAllowed", "memory capped to maxAllowed"]
    );
}

#[test]
fn container_limit_range_max_bounds_request_by_limit_ratio() {
    // request 100m / limit 150m, LimitRange max 300m: a request above 200m would push the limit over.
    let lr = container_lr(Amounts::new(), am(300, 1024 * MI), Amounts::new());
    let pod = [PodContainer::new(
        "app",
        am(100, 100 * MI),
        am(150, 200 * MI),
    )];
    let out = cap_for_pod(&[rec("app", am(250, 200 * MI))], None, &pod, &lr);
    assert_eq!(out.recommendations[0].target, am(200, 200 * MI));
    assert_eq!(
        out.notes["app"],
        vec!["cpu capped to fit Max in container LimitRange"]
    );
}

#[test]
fn container_limit_range_min_raises_request_and_limit() {
    // request 100m / limit 150m, LimitRange min 75m: both request and limit must reach 75m.
    let lr = container_lr(am(75, 50 * MI), Amounts::new(), Amounts::new());
    let pod = [PodContainer::new(
        "app",
        am(100, 100 * MI),
        am(150, 200 * MI),
    )];
    let out = cap_for_pod(&[rec("app", am(50, 20 * MI))], None, &pod, &lr);
    // memory: a 25Mi request keeps the limit at 50Mi; the request min of 50Mi is higher.
    assert_eq!(out.recommendations[0].target, am(75, 50 * MI));
    assert_eq!(
        out.notes["app"],
        vec![
            "cpu capped to fit Min in container LimitRange",
            "memory capped to fit Min in container LimitRange"
        ]
    );
}

#[test]
fn container_limit_range_default_stands_in_for_missing_limit() {
    let lr = container_lr(Amounts::new(), am(1000, -1), am(500, -1));
    let pod = [PodContainer::new("app", am(250, -1), Amounts::new())];
    let out = cap_for_pod(&[rec("app", am(800, -1))], None, &pod, &lr);
    // default limit 500m vs request 250m: ratio 2, so at most 500m request.
    assert_eq!(out.recommendations[0].target, am(500, -1));
}

#[test]
fn requests_only_caps_to_existing_limit() {
    let mut p = policy("app", None, None);
    p.container_policies.as_mut().unwrap()[0].controlled_values =
        Some(ContainerControlledValues::RequestsOnly);
    let pod = [PodContainer::new(
        "app",
        am(100, 100 * MI),
        am(500, 500 * MI),
    )];
    let out = cap_for_pod(
        &[rec("app", am(800, 300 * MI))],
        Some(&p),
        &pod,
        &NamespaceLimits::default(),
    );
    assert_eq!(out.recommendations[0].target, am(500, 300 * MI));
    assert_eq!(out.notes["app"], vec!["cpu capped to container limit"]);
}

#[test]
fn pod_limit_range_max_scales_all_containers_down() {
    // Two containers 100m/150m, recommended 250m each: limits would sum to 750m > max 600m.
    let lr = pod_lr(Amounts::new(), am(600, -1));
    let pod = [
        PodContainer::new("a", am(100, -1), am(150, -1)),
        PodContainer::new("b", am(100, -1), am(150, -1)),
    ];
    let out = cap_for_pod(
        &[rec("a", am(250, -1)), rec("b", am(250, -1))],
        None,
        &pod,
        &lr,
    );
    assert_eq!(out.recommendations[0].target, am(200, -1));
    assert_eq!(out.recommendations[1].target, am(200, -1));
}

#[test]
fn pod_limit_range_min_scales_recommendations_up() {
    let lr = pod_lr(am(400, -1), Amounts::new());
    let pod = [
        PodContainer::new("a", am(100, -1), am(150, -1)),
        PodContainer::new("b", am(100, -1), am(150, -1)),
    ];
    let out = cap_for_pod(
        &[rec("a", am(50, -1)), rec("b", am(50, -1))],
        None,
        &pod,
        &lr,
    );
    assert_eq!(out.recommendations[0].target, am(200, -1));
    assert_eq!(out.recommendations[1].target, am(200, -1));
}

#[test]
fn pod_limit_range_counts_containers_without_recommendation_by_their_requests() {
    // "b" has no recommendation: it joins with its request 300m (limit 300m); the sum of limits
    // 300m + 2×250m = 800m exceeds max 400m, so everything scales by 1/2.
    let lr = pod_lr(Amounts::new(), am(400, -1));
    let pod = [
        PodContainer::new("a", am(100, -1), am(200, -1)),
        PodContainer::new("b", am(300, -1), am(300, -1)),
    ];
    let out = cap_for_pod(&[rec("a", am(250, -1))], None, &pod, &lr);
    let by_name = |n: &str| {
        out.recommendations
            .iter()
            .find(|r| r.container_name == n)
            .unwrap()
            .target
            .clone()
    };
    assert_eq!(by_name("a"), am(125, -1));
    assert_eq!(by_name("b"), am(150, -1));
}

#[test]
fn recommendation_for_missing_container_is_dropped() {
    let pod = [PodContainer::new("app", Amounts::new(), Amounts::new())];
    let out = cap_for_pod(
        &[rec("gone", am(1, 1))],
        None,
        &pod,
        &NamespaceLimits::default(),
    );
    assert!(out.recommendations.is_empty());
}

#[test]
fn recommender_policy_uses_global_max_for_missing_resources() {
    let p = policy("app", None, None);
    let mut with_cpu_max = p.clone();
    with_cpu_max.container_policies.as_mut().unwrap()[0].max_allowed = Some(
        [(
            "cpu".to_string(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("2".into()),
        )]
        .into(),
    );
    let global = am(1000, 1024 * MI);
    let r = [rec("app", am(3000, 4096 * MI))];
    assert_eq!(
        apply_vpa_policy(&r, Some(&p), &global)[0].target,
        am(1000, 1024 * MI)
    );
    // The VPA's own maxAllowed wins over the global one.
    assert_eq!(
        apply_vpa_policy(&r, Some(&with_cpu_max), &global)[0].target,
        am(2000, 1024 * MI)
    );
    assert_eq!(
        apply_vpa_policy(&r, None, &global)[0].target,
        am(1000, 1024 * MI)
    );
    assert_eq!(
        apply_vpa_policy(&r, None, &Amounts::new())[0].target,
        am(3000, 4096 * MI)
    );
}

#[test]
fn zero_bounds_are_ignored() {
    let p = policy("app", Some(("0", "0")), Some(("0", "0")));
    let r = [rec("app", am(3000, 4096 * MI))];
    assert_eq!(
        apply_vpa_policy(&r, Some(&p), &Amounts::new())[0].target,
        am(3000, 4096 * MI)
    );
}
