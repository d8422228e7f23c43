use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::test_support::{PodBuilder, VpaBuilder};

fn replica_set(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            PodBuilder::new("ns", &format!("pod-{i}"))
                .container("app", "1", "")
                .build()
        })
        .collect()
}

fn restriction(
    pods: &[Pod],
    vpa: &VerticalPodAutoscaler,
    configured: i64,
    tolerance: f64,
) -> Restriction {
    let config = RestrictionConfig {
        eviction_tolerance: tolerance,
        ..RestrictionConfig::default()
    };
    Restriction::new(vpa, pods, |_| Some(configured), &config)
}

/// Evicts pods in order while allowed; returns how many went.
fn evict_all(r: &mut Restriction, pods: &[Pod]) -> usize {
    let mut evicted = 0;
    for pod in pods {
        if r.can_evict(pod, Duration::ZERO).is_ok() {
            r.record_eviction(pod);
            evicted += 1;
        }
    }
    evicted
}

#[test]
fn tolerance_of_eighty_percent_lets_four_of_five_go() {
    let pods = replica_set(5);
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 5, 0.8);
    for pod in &pods[..4] {
        assert_eq!(r.can_evict(pod, Duration::ZERO), Ok(()));
        r.record_eviction(pod);
    }
    assert_eq!(
        r.can_evict(&pods[4], Duration::ZERO),
        Err(Blocked::DisruptionBudget)
    );
}

#[test]
fn min_replicas_above_the_group_size_blocks_everything() {
    let pods = replica_set(5);
    let vpa = VpaBuilder::new("ns", "vpa").min_replicas(10).build();
    let mut r = restriction(&pods, &vpa, 5, 0.8);
    assert_eq!(
        r.can_evict(&pods[0], Duration::ZERO),
        Err(Blocked::TooFewReplicas)
    );
    assert_eq!(evict_all(&mut r, &pods), 0);
}

#[test]
fn tiny_tolerance_still_lets_exactly_one_pod_go() {
    let pods = replica_set(5);
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 5, 0.1);
    assert_eq!(evict_all(&mut r, &pods), 1);
}

#[test]
fn default_tolerance_of_half_lets_two_of_five_go() {
    let pods = replica_set(5);
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 5, 0.5);
    assert_eq!(evict_all(&mut r, &pods), 2);
}

#[test]
fn a_group_missing_pods_gets_no_free_eviction() {
    // 3 configured, 2 running, tolerance int(0.3) = 0: the fallback needs a full group.
    let pods = replica_set(2);
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 3, 0.1);
    assert_eq!(evict_all(&mut r, &pods), 0);
}

#[test]
fn pending_pods_can_always_be_evicted() {
    let mut pods = replica_set(3);
    pods.push(
        PodBuilder::new("ns", "pending")
            .container("app", "1", "")
            .phase("Pending")
            .build(),
    );
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 4, 0.1);
    assert_eq!(
        evict_all(&mut r, &pods[..3]),
        0,
        "3 of 4 running: nothing to spare"
    );
    assert_eq!(r.can_evict(&pods[3], Duration::ZERO), Ok(()));
}

#[test]
fn a_single_replica_is_left_alone_unless_min_replicas_is_one() {
    let pods = replica_set(1);
    let default_vpa = VpaBuilder::new("ns", "vpa").build();
    let r = restriction(&pods, &default_vpa, 1, 0.5);
    assert_eq!(
        r.can_evict(&pods[0], Duration::ZERO),
        Err(Blocked::TooFewReplicas)
    );

    let opted_in = VpaBuilder::new("ns", "vpa").min_replicas(1).build();
    let mut r = restriction(&pods, &opted_in, 1, 0.5);
    assert_eq!(evict_all(&mut r, &pods), 1);
}

#[test]
fn skipping_the_budget_keeps_small_groups_of_in_place_modes_for_resizes_only() {
    use vpa_common::api::UpdateMode;
    // Two live pods (one Pending) of a three-replica set, below the default minReplicas of 3.
    let mut pods = replica_set(2);
    pods[1].status.as_mut().unwrap().phase = Some("Pending".into());
    let skip = RestrictionConfig {
        min_replicas: 3,
        in_place_skip_disruption_budget: true,
        ..RestrictionConfig::default()
    };
    let strict = RestrictionConfig {
        in_place_skip_disruption_budget: false,
        ..skip.clone()
    };
    for mode in [UpdateMode::InPlaceOrRecreate, UpdateMode::InPlace] {
        let vpa = VpaBuilder::new("ns", "vpa").mode(mode).build();
        let r = Restriction::new(&vpa, &pods, |_| Some(3), &skip);
        let group = r.stats(&pods[0]).expect("kept for in-place resizes");
        assert!(group.below_min_replicas);
        assert_eq!((group.configured, group.running), (3, 1));
        for pod in &pods {
            assert_eq!(
                r.can_evict(pod, Duration::ZERO),
                Err(Blocked::TooFewReplicas),
                "{mode:?}: not even the Pending pod"
            );
        }
        let r = Restriction::new(&vpa, &pods, |_| Some(3), &strict);
        assert_eq!(r.stats(&pods[0]), Err(Blocked::TooFewReplicas), "{mode:?}");
    }
    for mode in [UpdateMode::Recreate, UpdateMode::Off] {
        let vpa = VpaBuilder::new("ns", "vpa").mode(mode).build();
        let r = Restriction::new(&vpa, &pods, |_| Some(3), &skip);
        assert_eq!(r.stats(&pods[0]), Err(Blocked::TooFewReplicas), "{mode:?}");
    }
    // A group that is large enough is not flagged.
    let vpa = VpaBuilder::new("ns", "vpa")
        .mode(UpdateMode::InPlace)
        .min_replicas(2)
        .build();
    let r = Restriction::new(&vpa, &pods, |_| Some(3), &skip);
    assert!(!r.stats(&pods[0]).unwrap().below_min_replicas);
}

#[test]
fn pods_without_a_controller_or_known_replica_count_are_left_alone() {
    let mut orphan = PodBuilder::new("ns", "orphan")
        .container("app", "1", "")
        .build();
    orphan.metadata.owner_references = None;
    let pods = [replica_set(2), vec![orphan]].concat();
    let vpa = VpaBuilder::new("ns", "vpa").min_replicas(1).build();
    let r = Restriction::new(&vpa, &pods, |_| None, &RestrictionConfig::default());
    assert_eq!(
        r.can_evict(&pods[0], Duration::ZERO),
        Err(Blocked::ReplicaCountUnknown)
    );
    assert_eq!(
        r.can_evict(&pods[2], Duration::ZERO),
        Err(Blocked::NoController)
    );
}

#[test]
fn jobs_count_their_live_pods_as_replicas() {
    let pods: Vec<Pod> = (0..4)
        .map(|i| {
            PodBuilder::new("ns", &format!("job-{i}"))
                .owner("Job", "batch")
                .container("app", "1", "")
                .build()
        })
        .collect();
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = Restriction::new(&vpa, &pods, |_| None, &RestrictionConfig::default());
    assert_eq!(evict_all(&mut r, &pods), 2);
}

#[test]
fn in_place_resizes_use_up_the_same_budget() {
    let pods = replica_set(4);
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let mut r = restriction(&pods, &vpa, 4, 0.5);
    r.record_in_place(&pods[0]);
    r.record_in_place(&pods[1]);
    assert_eq!(
        r.can_evict(&pods[2], Duration::ZERO),
        Err(Blocked::DisruptionBudget)
    );
}

#[test]
fn a_resizing_pod_is_evicted_only_once_its_resize_gave_up() {
    let resizing = |name: &str, condition: &str, reason: Option<&str>| {
        PodBuilder::new("ns", name)
            .container("app", "1", "")
            .condition(condition, reason)
            .build()
    };
    let pods = vec![
        resizing("infeasible", "PodResizePending", Some("Infeasible")),
        resizing("deferred", "PodResizePending", Some("Deferred")),
        resizing("in-progress", "PodResizeInProgress", None),
        PodBuilder::new("ns", "other")
            .container("app", "1", "")
            .build(),
    ];
    let vpa = VpaBuilder::new("ns", "vpa").build();
    let r = restriction(&pods, &vpa, 4, 1.0);
    let min = |m: u64| Duration::from_secs(m * 60);
    assert_eq!(r.can_evict(&pods[0], Duration::ZERO), Ok(()));
    assert_eq!(
        r.can_evict(&pods[1], min(4)),
        Err(Blocked::ResizeInProgress)
    );
    assert_eq!(r.can_evict(&pods[1], min(6)), Ok(()));
    assert_eq!(
        r.can_evict(&pods[2], min(59)),
        Err(Blocked::ResizeInProgress)
    );
    assert_eq!(r.can_evict(&pods[2], min(61)), Ok(()));
}

proptest::proptest! {
    /// Whatever the sizes, one loop keeps at least `configured - int(configured × tolerance)`
    /// pods of a group alive (surplus pods above that may go), except for the single pod a
    /// fully running group with a zero budget may lose, and never touches a group below
    /// `minReplicas`.
    #[test]
    fn evictions_never_exceed_the_budget(
        running in 0usize..30,
        configured in 1i64..30,
        tolerance in 0.0f64..1.0,
        min_replicas in 1i32..5,
    ) {
        let pods = replica_set(running);
        let vpa = VpaBuilder::new("ns", "vpa").min_replicas(min_replicas).build();
        let mut r = restriction(&pods, &vpa, configured, tolerance);
        let evicted = evict_all(&mut r, &pods) as i64;
        let running = running as i64;
        let budget = (configured as f64 * tolerance) as i64;
        if running < i64::from(min_replicas) {
            proptest::prop_assert_eq!(evicted, 0);
        }
        let surplus = (running - (configured - budget)).max(0);
        let fallback = i64::from(configured == running && budget == 0);
        proptest::prop_assert!(evicted <= surplus.max(fallback), "evicted {evicted}");
    }
}
