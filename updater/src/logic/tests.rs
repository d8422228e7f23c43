//! The loop against an in-memory [`ClusterApi`]: evictions, resizes and events are recorded, and
//! the fake plays the API server (PDB answers) and the kubelet (resize outcome).

use std::collections::HashSet;
use std::sync::Mutex;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{LimitRange, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, ObjectMeta};
use serde_json::Value;
use vpa_common::api::VerticalPodAutoscaler;

use super::*;
use crate::cluster_api::{ClusterError, UpdaterEvent};
use crate::config::UpdaterConfig;
use crate::ratelimit::Rate;
use crate::test_support::{PodBuilder, VpaBuilder};
use vpa_common::controllers::{ControllerInfo, Controllers, Replicas};

mod unboost;

/// What the fake kubelet does with an accepted resize.
#[derive(Clone, Copy, Default, PartialEq)]
enum Kubelet {
    /// Applies it: the pod's requests change and no condition remains.
    #[default]
    Applies,
    /// Marks it `PodResizePending` / `Infeasible`.
    Infeasible,
}

#[derive(Default)]
struct State {
    lease: Option<Lease>,
    vpas: Vec<Arc<VerticalPodAutoscaler>>,
    pods: Vec<Arc<Pod>>,
    replicas: i64,
    evictions: Vec<(PodKey, Instant)>,
    eviction_attempts: usize,
    resizes: Vec<(PodKey, Value)>,
    pod_patches: Vec<(PodKey, Value)>,
    events: Vec<UpdaterEvent>,
    pdb_blocks: bool,
    resize_error: bool,
    kubelet: Kubelet,
    /// Plays the ReplicaSet: an evicted pod is replaced by a new one (same template).
    recreate: bool,
}

#[derive(Clone, Default)]
struct FakeCluster(Arc<Mutex<State>>);

impl FakeCluster {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }
}

fn pod_index(state: &State, key: &PodKey) -> Option<usize> {
    state.pods.iter().position(|p| PodKey::of(p) == *key)
}

impl ClusterApi for FakeCluster {
    async fn lease(&self, _: &str, _: &str) -> Result<Option<Lease>, ClusterError> {
        Ok(self.state().lease.clone())
    }
    async fn list_vpas(&self) -> Result<Vec<Arc<VerticalPodAutoscaler>>, ClusterError> {
        Ok(self.state().vpas.clone())
    }
    async fn list_pods(&self) -> Result<Vec<Arc<Pod>>, ClusterError> {
        Ok(self.state().pods.clone())
    }
    async fn list_limit_ranges(&self) -> Result<Vec<LimitRange>, ClusterError> {
        Ok(Vec::new())
    }
    async fn controllers(&self) -> Result<Controllers, ClusterError> {
        let replicas = Some(Replicas::Desired(self.state().replicas as i32));
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), "app".to_string())].into()),
            ..Default::default()
        };
        let mut c = Controllers::default();
        c.insert(
            "ns",
            "Deployment",
            "app",
            ControllerInfo::new(None, Some(selector.clone()), replicas),
        );
        c.insert(
            "ns",
            "ReplicaSet",
            "app-rs",
            ControllerInfo::new(
                Some(vpa_common_owner("Deployment", "app")),
                Some(selector),
                replicas,
            ),
        );
        Ok(c)
    }
    async fn evict(&self, pod: &PodKey) -> Result<(), ActionError> {
        let mut s = self.state();
        s.eviction_attempts += 1;
        if s.pdb_blocks {
            return Err(ActionError::TooManyRequests("disruption budget".into()));
        }
        let i = pod_index(&s, pod).ok_or(ActionError::NotFound)?;
        s.pods.remove(i);
        s.evictions.push((pod.clone(), Instant::now()));
        if s.recreate {
            let replacement = drifted_pod(1000 + s.evictions.len());
            s.pods.push(replacement);
        }
        Ok(())
    }
    async fn resize(&self, pod: &PodKey, patch: &Value) -> Result<(), ActionError> {
        let mut s = self.state();
        if s.resize_error {
            return Err(ActionError::Api {
                code: 422,
                message: "resize rejected".into(),
            });
        }
        s.resizes.push((pod.clone(), patch.clone()));
        let i = pod_index(&s, pod).ok_or(ActionError::NotFound)?;
        let mut updated = (*s.pods[i]).clone();
        match s.kubelet {
            Kubelet::Applies => apply_resize(&mut updated, patch),
            Kubelet::Infeasible => updated
                .status
                .as_mut()
                .unwrap()
                .conditions
                .get_or_insert_with(Vec::new)
                .push(PodCondition {
                    type_: "PodResizePending".into(),
                    status: "True".into(),
                    reason: Some("Infeasible".into()),
                    ..Default::default()
                }),
        }
        s.pods[i] = Arc::new(updated);
        Ok(())
    }
    async fn patch_pod(&self, pod: &PodKey, patch: &Value) -> Result<(), ActionError> {
        self.state().pod_patches.push((pod.clone(), patch.clone()));
        Ok(())
    }
    async fn publish(&self, event: UpdaterEvent) {
        self.state().events.push(event);
    }
}

fn vpa_common_owner(
    kind: &str,
    name: &str,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        controller: Some(true),
        ..Default::default()
    }
}

/// Sets each `requests/<resource>` value of a resize patch on the pod spec, as a kubelet that
/// accepted it would (enough for these tests).
fn apply_resize(pod: &mut Pod, patch: &Value) {
    for op in patch.as_array().unwrap() {
        let path = op["path"].as_str().unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        if let [
            "",
            "spec",
            "containers",
            i,
            "resources",
            "requests",
            resource,
        ] = parts.as_slice()
        {
            let c = &mut pod.spec.as_mut().unwrap().containers[i.parse::<usize>().unwrap()];
            c.resources
                .get_or_insert_with(Default::default)
                .requests
                .get_or_insert_with(Default::default)
                .insert(
                    resource.to_string(),
                    k8s_openapi::apimachinery::pkg::api::resource::Quantity(
                        op["value"].as_str().unwrap().into(),
                    ),
                );
        }
    }
}

fn fresh_lease() -> Lease {
    Lease {
        metadata: ObjectMeta {
            creation_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                time::now(),
            )),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            renew_time: Some(MicroTime(time::now())),
            ..Default::default()
        }),
    }
}

fn stale_lease() -> Lease {
    let old = k8s_openapi::jiff::Timestamp::from_second(time::now().as_second() - 3600).unwrap();
    Lease {
        metadata: ObjectMeta {
            creation_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(old)),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            renew_time: Some(MicroTime(old)),
            ..Default::default()
        }),
    }
}

/// A pod of Deployment `app` requesting 100m / 50Mi, far below a 500m / 200Mi recommendation.
fn drifted_pod(i: usize) -> Arc<Pod> {
    Arc::new(
        PodBuilder::new("ns", &format!("app-{i}"))
            .owner("ReplicaSet", "app-rs")
            .label("app", "app")
            .container("app", "100m", "50Mi")
            .limits("200m", "100Mi")
            .build(),
    )
}

fn vpa(mode: UpdateMode) -> VpaBuilder {
    VpaBuilder::new("ns", "app-vpa").mode(mode).recommend(
        "app",
        ("500m", "200Mi"),
        ("400m", "150Mi"),
        ("1", "400Mi"),
    )
}

fn cluster(pods: usize, vpa: VerticalPodAutoscaler) -> FakeCluster {
    let fake = FakeCluster::default();
    {
        let mut s = fake.state();
        s.lease = Some(fresh_lease());
        s.vpas = vec![Arc::new(vpa)];
        s.pods = (0..pods).map(drifted_pod).collect();
        s.replicas = pods as i64;
    }
    fake
}

fn config(tolerance: f64, rate: Rate) -> UpdaterConfig {
    let mut c = UpdaterConfig::default();
    c.restriction.eviction_tolerance = tolerance;
    c.eviction_rate = rate;
    c
}

const UNLIMITED: Rate = Rate {
    per_second: -1.0,
    burst: 1,
};

fn updater(fake: FakeCluster, config: UpdaterConfig) -> Updater<FakeCluster> {
    let health = Health::new(config.interval);
    Updater::new(fake, config, Arc::new(Metrics::default()), health)
}

#[tokio::test(start_paused = true)]
async fn evicts_only_when_admission_controller_lease_is_fresh() {
    let mut u = updater(
        cluster(4, vpa(UpdateMode::Recreate).build()),
        config(0.5, UNLIMITED),
    );
    u.cluster().state().lease = Some(stale_lease());
    let report = u.run_once().await;
    assert_eq!(
        report.skipped,
        Some(LoopSkip::AdmissionControllerNotRunning)
    );
    u.cluster().state().lease = None;
    assert_eq!(
        u.run_once().await.skipped,
        Some(LoopSkip::AdmissionControllerNotRunning)
    );
    assert_eq!(u.cluster().state().eviction_attempts, 0);

    u.cluster().state().lease = Some(fresh_lease());
    let report = u.run_once().await;
    assert_eq!(report.skipped, None);
    assert_eq!(report.evicted.len(), 2, "tolerance 0.5 of 4 replicas");
}

#[tokio::test(start_paused = true)]
async fn the_lease_check_can_be_turned_off() {
    let mut c = config(0.5, UNLIMITED);
    c.admission.enabled = false;
    let mut u = updater(cluster(2, vpa(UpdateMode::Recreate).build()), c);
    u.cluster().state().lease = None;
    assert_eq!(u.run_once().await.evicted.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_disruption_budget_refusal_is_retried_next_loop_without_an_error_storm() {
    let mut u = updater(
        cluster(10, vpa(UpdateMode::Recreate).build()),
        config(1.0, UNLIMITED),
    );
    u.cluster().state().pdb_blocks = true;
    let report = u.run_once().await;
    assert!(report.evicted.is_empty());
    assert_eq!(report.failed_evictions.len(), 1);
    assert!(matches!(
        report.failed_evictions[0].1,
        ActionError::TooManyRequests(_)
    ));
    assert_eq!(
        u.cluster().state().eviction_attempts,
        1,
        "one request per group per loop"
    );

    u.cluster().state().pdb_blocks = false;
    let report = u.run_once().await;
    assert_eq!(report.evicted.len(), 10);
    assert!(report.failed_evictions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_is_honoured_over_a_burst_of_100_drifting_pods() {
    let rate = Rate {
        per_second: 1.0,
        burst: 1,
    };
    let mut u = updater(
        cluster(100, vpa(UpdateMode::Recreate).build()),
        config(1.0, rate),
    );
    let start = Instant::now();
    let first = u.run_once().await;
    assert!(first.rate_limited, "the loop deadline stops the queue");
    // One token at once, then one per second until the 60 s deadline.
    assert_eq!(first.evicted.len(), 61);
    let times: Vec<Instant> = u.cluster().state().evictions.iter().map(|e| e.1).collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_secs(1),
            "evictions closer than the rate"
        );
    }
    assert!(times.last().unwrap().duration_since(start) <= Duration::from_secs(60));

    let second = u.run_once().await;
    assert_eq!(second.evicted.len(), 39);
    assert!(!second.rate_limited);
    assert!(u.cluster().state().pods.is_empty());
}

#[tokio::test(start_paused = true)]
async fn min_replicas_is_honoured() {
    let mut single = updater(
        cluster(1, vpa(UpdateMode::Recreate).build()),
        config(0.5, UNLIMITED),
    );
    let report = single.run_once().await;
    assert!(report.evicted.is_empty());
    assert_eq!(report.pod_skips.get("TooFewReplicas"), Some(&1));

    let opted_in = vpa(UpdateMode::Recreate).min_replicas(1).build();
    let mut single = updater(cluster(1, opted_in), config(0.5, UNLIMITED));
    assert_eq!(single.run_once().await.evicted.len(), 1);

    let too_many = vpa(UpdateMode::Recreate).min_replicas(5).build();
    let mut four = updater(cluster(4, too_many), config(0.5, UNLIMITED));
    assert!(four.run_once().await.evicted.is_empty());
}

#[tokio::test(start_paused = true)]
async fn evictions_record_events_on_the_pod_and_the_vpa() {
    let mut u = updater(
        cluster(2, vpa(UpdateMode::Auto).build()),
        config(0.5, UNLIMITED),
    );
    let report = u.run_once().await;
    assert_eq!(report.evicted.len(), 1);
    let s = u.cluster().state();
    let reasons: Vec<&str> = s.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["EvictedByVPA", "EvictedPod"]);
    assert_eq!(
        s.events[1].regarding.kind.as_deref(),
        Some("VerticalPodAutoscaler")
    );
    assert!(s.resizes.is_empty(), "Auto behaves as Recreate");
}

#[tokio::test(start_paused = true)]
async fn in_place_or_recreate_resizes_first_and_falls_back_to_eviction_when_infeasible() {
    // A single replica opted in with minReplicas 1, so the budget never hides the fallback.
    let mut u = updater(
        cluster(
            1,
            vpa(UpdateMode::InPlaceOrRecreate).min_replicas(1).build(),
        ),
        config(0.5, UNLIMITED),
    );
    u.cluster().state().kubelet = Kubelet::Infeasible;
    let first = u.run_once().await;
    assert_eq!(first.resized.len(), 1);
    assert!(first.evicted.is_empty());
    {
        let s = u.cluster().state();
        let patch = &s.resizes[0].1;
        assert!(patch.as_array().unwrap().iter().any(|op| op["path"]
            == "/spec/containers/0/resources/requests/cpu"
            && op["value"] == "500m"));
        // Limits keep the 2:1 ratio of the pod (200m / 100m).
        assert!(patch.as_array().unwrap().iter().any(|op| op["path"]
            == "/spec/containers/0/resources/limits/cpu"
            && op["value"] == "1"));
        assert_eq!(s.pod_patches.len(), 1, "vpaInPlaceUpdated annotation");
        assert_eq!(s.events.last().unwrap().reason, "InPlaceResizedByVPA");
    }
    let resized = first.resized[0].clone();
    let second = u.run_once().await;
    assert_eq!(second.evicted, [resized], "the infeasible pod is evicted");
}

#[tokio::test(start_paused = true)]
async fn a_successful_resize_leaves_the_pod_running() {
    let mut u = updater(
        cluster(2, vpa(UpdateMode::InPlaceOrRecreate).build()),
        config(1.0, UNLIMITED),
    );
    let first = u.run_once().await;
    assert_eq!(first.resized.len(), 2);
    let second = u.run_once().await;
    assert!(
        second.resized.is_empty() && second.evicted.is_empty(),
        "{second:?}"
    );
    assert_eq!(u.cluster().state().pods.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_resize_falls_back_to_eviction_in_the_same_loop() {
    let mut u = updater(
        cluster(2, vpa(UpdateMode::InPlaceOrRecreate).build()),
        config(0.5, UNLIMITED),
    );
    u.cluster().state().resize_error = true;
    let report = u.run_once().await;
    // Both pods are approved (a failed resize uses no budget), both fail, and the eviction
    // budget of one pod out of two applies to the fallbacks.
    assert_eq!(report.failed_resizes.len(), 2);
    assert_eq!(report.evicted.len(), 1);
    let evicted: HashSet<_> = report.evicted.iter().collect();
    assert!(evicted.contains(&report.failed_resizes[0].0));
}

#[tokio::test(start_paused = true)]
async fn run_loops_every_interval_and_stops_on_shutdown() {
    let fake = cluster(4, vpa(UpdateMode::Recreate).build());
    fake.state().recreate = true;
    let observer = fake.clone();
    let u = updater(fake, config(0.5, UNLIMITED));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(u.run(async move {
        let _ = rx.await;
    }));
    // No loop before the first interval, as upstream.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(observer.state().evictions.len(), 0);
    // Loops at 60 s and 120 s, each evicting the two pods the budget allows.
    tokio::time::sleep(Duration::from_secs(35)).await;
    assert_eq!(observer.state().evictions.len(), 2);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(observer.state().evictions.len(), 4);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), handle)
        .await
        .expect("the loop stops promptly")
        .unwrap();
}

mod in_place_mode;
