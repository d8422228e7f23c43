//! Invariants of capping over arbitrary recommendations and policies.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use proptest::prelude::*;
use vpa_common::api::{ContainerResourcePolicy, PodResourcePolicy, ResourceList};
use vpa_common::capping::{ContainerRecommendation, PodContainer, apply_vpa_policy, cap_for_pod};
use vpa_common::limitrange::{LimitBounds, NamespaceLimits};
use vpa_common::resources::{Amounts, CPU, MEMORY};

const RESOURCES: [&str; 2] = [CPU, MEMORY];

fn amounts(cpu: i64, mem: i64) -> Amounts {
    [(CPU.to_string(), cpu), (MEMORY.to_string(), mem)].into()
}

fn list(a: &Amounts) -> ResourceList {
    a.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == CPU {
                    Quantity(format!("{v}m"))
                } else {
                    Quantity(v.to_string())
                },
            )
        })
        .collect()
}

/// A recommendation with lower <= target <= upper, and a policy with 0 < min <= max.
fn case() -> impl Strategy<Value = (ContainerRecommendation, Amounts, Amounts)> {
    let triple = || {
        (1i64..1_000_000, 0i64..1_000_000, 0i64..1_000_000)
            .prop_map(|(l, a, b)| (l, l + a, l + a + b))
    };
    let bounds = || (1i64..2_000_000, 0i64..2_000_000).prop_map(|(lo, d)| (lo, lo + d));
    (triple(), triple(), bounds(), bounds()).prop_map(|(c, m, cb, mb)| {
        let rec = ContainerRecommendation {
            container_name: "app".into(),
            lower_bound: amounts(c.0, m.0),
            target: amounts(c.1, m.1),
            upper_bound: amounts(c.2, m.2),
            uncapped_target: amounts(c.1, m.1),
        };
        (rec, amounts(cb.0, mb.0), amounts(cb.1, mb.1))
    })
}

fn policy(min: &Amounts, max: &Amounts) -> PodResourcePolicy {
    PodResourcePolicy {
        container_policies: Some(vec![ContainerResourcePolicy {
            container_name: Some("*".into()),
            min_allowed: Some(list(min)),
            max_allowed: Some(list(max)),
            ..Default::default()
        }]),
    }
}

fn check(
    out: &ContainerRecommendation,
    input: &ContainerRecommendation,
    min: &Amounts,
    max: &Amounts,
) {
    for r in RESOURCES {
        for field in [&out.target, &out.lower_bound, &out.upper_bound] {
            assert!(
                field[r] >= min[r] && field[r] <= max[r],
                "{r} {} outside [{}, {}]",
                field[r],
                min[r],
                max[r]
            );
        }
        assert!(out.lower_bound[r] <= out.target[r] && out.target[r] <= out.upper_bound[r]);
    }
    assert_eq!(out.uncapped_target, input.uncapped_target);
}

proptest! {
    #[test]
    fn recommender_capping_stays_within_policy_and_keeps_order((rec, min, max) in case()) {
        let out = apply_vpa_policy(std::slice::from_ref(&rec), Some(&policy(&min, &max)), &Amounts::new());
        check(&out[0], &rec, &min, &max);
    }

    #[test]
    fn pod_capping_stays_within_policy_even_with_limit_ranges(
        (rec, min, max) in case(),
        request in (1i64..1_000_000, 1i64..1_000_000),
        ratio in 1i64..5,
        lr_max in (1i64..3_000_000, 1i64..3_000_000),
        pod_max in (1i64..3_000_000, 1i64..3_000_000),
    ) {
        let req = amounts(request.0, request.1);
        let lim = amounts(request.0 * ratio, request.1 * ratio);
        let pod = [PodContainer::new("app", req, lim)];
        let limits = NamespaceLimits {
            container: Some(LimitBounds { max: amounts(lr_max.0, lr_max.1), ..Default::default() }),
            pod: Some(LimitBounds { max: amounts(pod_max.0, pod_max.1), ..Default::default() }),
        };
        let out = cap_for_pod(std::slice::from_ref(&rec), Some(&policy(&min, &max)), &pod, &limits);
        let got = &out.recommendations[0];
        for r in RESOURCES {
            for field in [&got.target, &got.lower_bound, &got.upper_bound] {
                prop_assert!(field[r] >= min[r] && field[r] <= max[r]);
            }
        }
        prop_assert_eq!(&got.uncapped_target, &rec.uncapped_target);
    }

    #[test]
    fn container_limit_range_capping_keeps_bound_order(
        (rec, min, max) in case(),
        lr_max in (1i64..3_000_000, 1i64..3_000_000),
    ) {
        let pod = [PodContainer::new("app", amounts(100, 100), amounts(200, 300))];
        let limits = NamespaceLimits {
            container: Some(LimitBounds { max: amounts(lr_max.0, lr_max.1), ..Default::default() }),
            pod: None,
        };
        let out = cap_for_pod(std::slice::from_ref(&rec), Some(&policy(&min, &max)), &pod, &limits);
        check(&out.recommendations[0], &rec, &min, &max);
    }
}
