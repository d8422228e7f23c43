use vpa_common::api::RecommendedContainerResources;

use super::*;
use crate::test_support::{PodBuilder, resources};

fn targets(per_container: &[(&str, &str, &str)]) -> Vec<RecommendedContainerResources> {
    per_container
        .iter()
        .map(|(name, cpu, memory)| RecommendedContainerResources {
            container_name: Some((*name).into()),
            target: resources(cpu, memory),
            ..Default::default()
        })
        .collect()
}

fn infeasible(name: &str) -> Pod {
    PodBuilder::new("ns", name)
        .container("app", "100m", "50Mi")
        .condition("PodResizePending", Some("Infeasible"))
        .build()
}

#[test]
fn only_a_lower_target_for_the_same_container_and_resource_counts() {
    let attempted = targets(&[("app", "2", "1Gi")]);
    let cases = [
        (targets(&[("app", "2", "1Gi")]), false, "the same targets"),
        (targets(&[("app", "3", "2Gi")]), false, "higher targets"),
        (targets(&[("app", "1999m", "1Gi")]), true, "less CPU"),
        (
            targets(&[("app", "3", "1023Mi")]),
            true,
            "less memory, more CPU",
        ),
        (
            targets(&[("other", "1m", "1Mi")]),
            false,
            "another container",
        ),
        (targets(&[("app", "", "")]), false, "no targets"),
        (
            targets(&[("app", "", "512Mi"), ("other", "1", "")]),
            true,
            "one container lower",
        ),
    ];
    for (new, expected, what) in cases {
        assert_eq!(has_lower_target(&attempted, &new), expected, "{what}");
    }
    assert!(
        !has_lower_target(
            &targets(&[("app", "", "1Gi")]),
            &targets(&[("app", "1m", "")])
        ),
        "a resource the attempt did not set"
    );
}

#[test]
fn a_recorded_pod_is_allowed_again_only_by_a_lower_target() {
    let pod = infeasible("a");
    let mut memory = InfeasibleAttempts::default();
    let first = targets(&[("app", "2", "1Gi")]);
    assert!(memory.allows(&pod, &first), "nothing recorded yet");
    memory.record(&pod, &first);
    assert!(!memory.allows(&pod, &first));
    assert!(!memory.allows(&pod, &targets(&[("app", "4", "1Gi")])));
    let lower = targets(&[("app", "1", "1Gi")]);
    assert!(memory.allows(&pod, &lower));
    memory.record(&pod, &lower);
    assert_eq!(memory.attempted(&pod), Some(lower.as_slice()));
    assert!(!memory.allows(&pod, &targets(&[("app", "1500m", "1Gi")])));
    assert!(
        memory.allows(&infeasible("b"), &first),
        "other pods are not affected"
    );
}

#[test]
fn attempts_are_keyed_by_uid_so_a_recreated_pod_starts_afresh() {
    let pod = infeasible("a");
    let mut memory = InfeasibleAttempts::default();
    let first = targets(&[("app", "2", "1Gi")]);
    memory.record(&pod, &first);
    let mut recreated = pod.clone();
    recreated.metadata.uid = Some("uid-a-2".into());
    assert!(memory.allows(&recreated, &first));
}

#[test]
fn attempts_are_forgotten_when_the_pod_is_gone_or_no_longer_infeasible() {
    let (a, b, c) = (infeasible("a"), infeasible("b"), infeasible("c"));
    let errored = PodBuilder::new("ns", "d")
        .container("app", "100m", "50Mi")
        .condition("PodResizeInProgress", Some("Error"))
        .build();
    let mut memory = InfeasibleAttempts::default();
    let t = targets(&[("app", "2", "1Gi")]);
    for p in [&a, &b, &c, &errored] {
        memory.record(p, &t);
    }
    let resized = PodBuilder::new("ns", "b")
        .container("app", "2", "1Gi")
        .build();
    // `c` is gone; `b` was resized since and reports no resize any more.
    memory.observe([&a, &resized, &errored]);
    assert_eq!(memory.len(), 2);
    assert!(!memory.allows(&a, &t));
    assert!(!memory.allows(&errored, &t));
    assert!(memory.allows(&resized, &t));
    assert!(memory.allows(&c, &t));
    memory.observe([]);
    assert!(memory.is_empty());
}
