//! The boost computation against upstream 1.7.1's cases (`resource_updates_test.go`,
//! `TestCalculatePatches_StartupBoost`, and `vpa_cpu_boost_test.go`).

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::*;
use crate::api::{ContainerResourcePolicy, PodResourcePolicy, StartupBoost};
use crate::resources::Amounts;
use crate::testutil::{PodBuilder, VpaBuilder};

fn factor(n: i32) -> GenericStartupBoost {
    GenericStartupBoost {
        boost_type: StartupBoostType::Factor,
        factor: Some(n),
        quantity: None,
        duration_seconds: None,
    }
}

fn quantity(q: &str) -> GenericStartupBoost {
    GenericStartupBoost {
        boost_type: StartupBoostType::Quantity,
        factor: None,
        quantity: Some(K8sQuantity(q.into())),
        duration_seconds: None,
    }
}

fn cpu(millis: i64) -> Amounts {
    [(CPU.to_string(), millis)].into()
}

/// A container with these CPU requests and limits (millicores; `None` leaves it out).
fn container(request: Option<i64>, limit: Option<i64>) -> PodContainer {
    PodContainer::new(
        "c",
        request.map(cpu).unwrap_or_default(),
        limit.map(cpu).unwrap_or_default(),
    )
}

/// The resources the admission controller would write for a recommendation of `millis` CPU.
fn recommended(millis: Option<i64>) -> ContainerResources {
    ContainerResources {
        requests: millis.map(cpu).unwrap_or_default(),
        ..Default::default()
    }
}

fn boost(
    rec: Option<i64>,
    c: &PodContainer,
    values: ContainerControlledValues,
    b: &GenericStartupBoost,
    max: Option<i64>,
) -> (Amounts, Amounts) {
    let mut new = recommended(rec);
    apply_boost(&mut new, c, values, b, max).unwrap();
    (new.requests, new.limits)
}

const RL: ContainerControlledValues = ContainerControlledValues::RequestsAndLimits;
const RO: ContainerControlledValues = ContainerControlledValues::RequestsOnly;

#[test]
fn factor_multiplies_the_recommendation_and_scales_the_limit() {
    // 1m/1m container, 100m recommended, factor 2: 200m request and limit.
    let c = container(Some(1), Some(1));
    assert_eq!(
        boost(Some(100), &c, RL, &factor(2), None),
        (cpu(200), cpu(200))
    );
}

#[test]
fn quantity_is_added_to_the_recommendation() {
    let c = container(Some(1), Some(1));
    assert_eq!(
        boost(Some(100), &c, RL, &quantity("500m"), None),
        (cpu(600), cpu(600))
    );
    // Upstream adds even a quantity below the request: 500m + 200m.
    let c = container(Some(400), Some(400));
    assert_eq!(
        boost(Some(500), &c, RL, &quantity("200m"), None),
        (cpu(700), cpu(700))
    );
}

#[test]
fn max_allowed_caps_the_boost() {
    let c = container(Some(1), Some(1));
    assert_eq!(
        boost(Some(20), &c, RL, &factor(3), Some(40)),
        (cpu(40), cpu(40))
    );
    // Below the cap, or with no cap (0 or unset), nothing changes.
    assert_eq!(boost(Some(20), &c, RL, &factor(3), Some(100)).0, cpu(60));
    assert_eq!(boost(Some(20), &c, RL, &factor(3), Some(0)).0, cpu(60));
}

#[test]
fn without_a_recommendation_the_original_request_is_boosted() {
    let c = container(Some(100), Some(100));
    assert_eq!(boost(None, &c, RL, &factor(2), None), (cpu(200), cpu(200)));
    // A zero recommendation counts as none.
    assert_eq!(boost(Some(0), &c, RL, &factor(2), None).0, cpu(200));
}

#[test]
fn requests_only_keeps_the_limit_and_stays_below_it() {
    // 100m/300m, factor 2: 200m fits under the limit.
    let c = container(Some(100), Some(300));
    assert_eq!(
        boost(Some(100), &c, RO, &factor(2), None),
        (cpu(200), Amounts::new())
    );
    // 100m/150m, factor 2: 200m would pass the limit, so 149m.
    let c = container(Some(100), Some(150));
    assert_eq!(boost(Some(100), &c, RO, &factor(2), None).0, cpu(149));
    // A 1m limit leaves no room below it: the request equals it.
    let c = container(Some(1), Some(1));
    assert_eq!(boost(Some(100), &c, RO, &factor(2), None).0, cpu(1));
    // No limit: no cap.
    let c = container(Some(100), None);
    assert_eq!(boost(Some(100), &c, RO, &factor(5), None).0, cpu(500));
}

#[test]
fn requests_and_limits_keep_the_original_ratio() {
    // 100m/300m, 150m recommended, factor 2: 300m request, 900m limit.
    let c = container(Some(100), Some(300));
    assert_eq!(
        boost(Some(150), &c, RL, &factor(2), None),
        (cpu(300), cpu(900))
    );
    // Without a limit none is written.
    let c = container(Some(100), None);
    assert_eq!(
        boost(Some(150), &c, RL, &factor(2), None),
        (cpu(300), Amounts::new())
    );
}

#[test]
fn other_resources_and_notes_are_kept() {
    let mut new = ContainerResources {
        requests: [(CPU.to_string(), 100), (MEMORY.to_string(), 7)].into(),
        limits: [(MEMORY.to_string(), 14)].into(),
        notes: vec!["cpu capped to maxAllowed".into()],
    };
    let c = container(Some(50), None);
    apply_boost(&mut new, &c, RL, &factor(3), None).unwrap();
    assert_eq!(new.requests[MEMORY], 7);
    assert_eq!(new.requests[CPU], 300);
    assert_eq!(new.limits, [(MEMORY.to_string(), 14)].into());
    assert_eq!(new.notes, vec!["cpu capped to maxAllowed"]);
}

#[test]
fn invalid_boosts_are_errors() {
    let c = container(Some(1), None);
    let mut new = recommended(Some(100));
    assert_eq!(
        apply_boost(&mut new, &c, RL, &factor(0), None),
        Err(BoostError::FactorBelowOne)
    );
    let mut no_factor = factor(2);
    no_factor.factor = None;
    assert_eq!(
        boosted_cpu_millis(1, &no_factor, None),
        Err(BoostError::MissingFactor)
    );
    let mut no_quantity = quantity("1");
    no_quantity.quantity = None;
    assert_eq!(
        boosted_cpu_millis(1, &no_quantity, None),
        Err(BoostError::MissingQuantity)
    );
    assert!(matches!(
        boosted_cpu_millis(1, &quantity("lots"), None),
        Err(BoostError::Quantity(_))
    ));
}

fn with_policy(
    vpa: VpaBuilder,
    pod_level: Option<GenericStartupBoost>,
    own: &[(&str, Option<StartupBoost>)],
) -> VerticalPodAutoscaler {
    let mut vpa = vpa.build();
    vpa.spec.startup_boost = pod_level.map(|cpu| StartupBoost { cpu: Some(cpu) });
    vpa.spec.resource_policy = Some(PodResourcePolicy {
        container_policies: Some(
            own.iter()
                .map(|(name, b)| ContainerResourcePolicy {
                    container_name: Some(name.to_string()),
                    startup_boost: b.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
    });
    vpa
}

fn seconds(mut b: GenericStartupBoost, s: i32) -> GenericStartupBoost {
    b.duration_seconds = Some(s);
    b
}

#[test]
fn container_policy_boost_takes_precedence() {
    let vpa = with_policy(
        VpaBuilder::new("ns", "v"),
        Some(factor(2)),
        &[
            (
                "app",
                Some(StartupBoost {
                    cpu: Some(factor(3)),
                }),
            ),
            ("quiet", Some(StartupBoost { cpu: None })),
            ("plain", None),
        ],
    );
    assert_eq!(container_boost(&vpa, "app"), Some(&factor(3)));
    assert_eq!(container_boost(&vpa, "quiet"), None);
    assert_eq!(container_boost(&vpa, "plain"), Some(&factor(2)));
    assert_eq!(container_boost(&vpa, "unlisted"), Some(&factor(2)));
    let none = VpaBuilder::new("ns", "v").build();
    assert_eq!(container_boost(&none, "app"), None);
}

#[test]
fn duration_comes_from_the_container_policy_then_the_pod_level() {
    let vpa = with_policy(
        VpaBuilder::new("ns", "v"),
        Some(seconds(factor(2), 300)),
        &[
            (
                "c1",
                Some(StartupBoost {
                    cpu: Some(seconds(factor(2), 180)),
                }),
            ),
            (
                "c2",
                Some(StartupBoost {
                    cpu: Some(factor(3)),
                }),
            ),
            (
                "*",
                Some(StartupBoost {
                    cpu: Some(seconds(factor(2), 60)),
                }),
            ),
        ],
    );
    assert_eq!(boost_duration_seconds(&vpa, "c1"), 180);
    // A container boost without its own duration keeps the pod-level one.
    assert_eq!(boost_duration_seconds(&vpa, "c2"), 300);
    // Containers without their own entry use the `*` entry.
    assert_eq!(boost_duration_seconds(&vpa, "other"), 60);
    let pod_only = with_policy(VpaBuilder::new("ns", "v"), Some(factor(2)), &[]);
    assert_eq!(boost_duration_seconds(&pod_only, "c1"), 0);
}

#[test]
fn annotation_holds_both_maps_in_canonical_form() {
    let pod = PodBuilder::new("ns", "p")
        .container("app")
        .requests("0.1", "1Gi")
        .limits("2", "")
        .container("bare")
        .build();
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(
        OriginalResources::of(&spec.containers[0]).to_annotation(),
        r#"{"requests":{"cpu":"100m","memory":"1Gi"},"limits":{"cpu":"2"}}"#
    );
    assert_eq!(
        OriginalResources::of(&spec.containers[1]).to_annotation(),
        r#"{"requests":{},"limits":{}}"#
    );
    assert_eq!(annotation_key("app"), "vpaCpuStartupBoost/app");
}

#[test]
fn recorded_resources_are_read_back_per_container() {
    let pod = PodBuilder::new("ns", "p")
        .annotation(&annotation_key("c1"), r#"{"requests":{"cpu":"100m"}}"#)
        .annotation(
            &annotation_key("c2"),
            r#"{"requests":null,"limits":{"cpu":"1"}}"#,
        )
        .annotation(&annotation_key("bad"), "invalid-json")
        .annotation("vpaObservedContainers", "c1, c2")
        .build();
    let c1 = OriginalResources::recorded(&pod, "c1").unwrap().unwrap();
    assert_eq!(c1.requests["cpu"].0, "100m");
    assert!(c1.limits.is_empty());
    let c2 = OriginalResources::recorded(&pod, "c2").unwrap().unwrap();
    assert!(c2.requests.is_empty());
    assert_eq!(c2.limits["cpu"].0, "1");
    assert!(OriginalResources::recorded(&pod, "bad").is_err());
    assert_eq!(OriginalResources::recorded(&pod, "c3").unwrap(), None);
    let boosted: Vec<&str> = boosted_containers(&pod).collect();
    assert_eq!(boosted, vec!["bad", "c1", "c2"]);
    assert!(is_boosted(&pod));
    assert!(!is_boosted(&PodBuilder::new("ns", "q").build()));
}
