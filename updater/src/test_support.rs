//! Test builders of this crate: thin extensions of the shared `vpa_common::testutil` builders
//! with the pod status and update-policy fields the updater's decisions read.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::{
    EvictionRequirement, PodUpdatePolicy, RecommendedContainerResources, ResourceList, UpdateMode,
    VerticalPodAutoscaler,
};
use vpa_common::testutil;

/// A timestamp `secs` seconds after the epoch.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

/// A resource list of CPU and memory quantities.
pub fn resources(cpu: &str, memory: &str) -> ResourceList {
    let mut list = ResourceList::new();
    if !cpu.is_empty() {
        list.insert("cpu".into(), Quantity(cpu.into()));
    }
    if !memory.is_empty() {
        list.insert("memory".into(), Quantity(memory.into()));
    }
    list
}

/// Builds a running pod (owned by ReplicaSet `rs`, started at the epoch) on top of the shared
/// `vpa_common::testutil::PodBuilder`, adding the status fields the updater reads.
pub struct PodBuilder {
    inner: testutil::PodBuilder,
    status: PodStatus,
}

impl PodBuilder {
    pub fn new(ns: &str, name: &str) -> Self {
        Self {
            inner: testutil::PodBuilder::new(ns, name).owner("ReplicaSet", "rs"),
            status: PodStatus {
                phase: Some("Running".into()),
                start_time: Some(Time(at(0))),
                ..Default::default()
            },
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.inner = self.inner.label(key, value);
        self
    }

    pub fn owner(mut self, kind: &str, name: &str) -> Self {
        self.inner = self.inner.owner(kind, name);
        self
    }

    /// Adds a container with these requests (an empty string leaves a resource out).
    pub fn container(mut self, name: &str, cpu: &str, memory: &str) -> Self {
        self.inner = self.inner.container(name).requests(cpu, memory);
        self
    }

    /// Sets the last container's limits.
    pub fn limits(mut self, cpu: &str, memory: &str) -> Self {
        self.inner = self.inner.limits(cpu, memory);
        self
    }

    pub fn phase(mut self, phase: &str) -> Self {
        self.status.phase = Some(phase.into());
        self
    }

    #[allow(dead_code)]
    pub fn started_at(mut self, t: Timestamp) -> Self {
        self.status.start_time = Some(Time(t));
        self
    }

    pub fn no_start_time(mut self) -> Self {
        self.status.start_time = None;
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.inner = self.inner.annotation(key, value);
        self
    }

    pub fn condition(mut self, type_: &str, reason: Option<&str>) -> Self {
        self.status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(PodCondition {
                type_: type_.into(),
                status: "True".into(),
                reason: reason.map(Into::into),
                ..Default::default()
            });
        self
    }

    /// Container `name` was last terminated by `reason` after running `ran_secs` seconds.
    pub fn last_terminated(mut self, name: &str, reason: &str, ran_secs: i64) -> Self {
        self.status
            .container_statuses
            .get_or_insert_with(Vec::new)
            .push(ContainerStatus {
                name: name.into(),
                last_state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        reason: Some(reason.into()),
                        started_at: Some(Time(at(1000))),
                        finished_at: Some(Time(at(1000 + ran_secs))),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        self
    }

    /// Condition `Ready` True since `t`.
    pub fn ready_since(mut self, t: Timestamp) -> Self {
        self.status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(t)),
                ..Default::default()
            });
        self
    }

    pub fn build(self) -> Pod {
        let mut pod = self.inner.build();
        pod.metadata.uid = pod.metadata.name.as_ref().map(|n| format!("uid-{n}"));
        pod.status = Some(self.status);
        pod
    }
}

/// Builds a VPA on top of the shared `vpa_common::testutil::VpaBuilder` (which targets
/// Deployment `<name without -vpa>`), adding update-policy fields.
pub struct VpaBuilder {
    inner: testutil::VpaBuilder,
    policy: PodUpdatePolicy,
}

impl VpaBuilder {
    pub fn new(ns: &str, name: &str) -> Self {
        Self {
            inner: testutil::VpaBuilder::new(ns, name),
            policy: PodUpdatePolicy::default(),
        }
    }

    /// Applies any shared-builder setting (policies, creation time, target).
    pub fn with(mut self, f: impl FnOnce(testutil::VpaBuilder) -> testutil::VpaBuilder) -> Self {
        self.inner = f(self.inner);
        self
    }

    pub fn mode(mut self, mode: UpdateMode) -> Self {
        self.policy.update_mode = Some(mode);
        self
    }

    pub fn min_replicas(mut self, n: i32) -> Self {
        self.policy.min_replicas = Some(n);
        self
    }

    pub fn eviction_requirements(mut self, reqs: Vec<EvictionRequirement>) -> Self {
        self.policy.eviction_requirements = Some(reqs);
        self
    }

    /// Adds a recommendation for `container` with target, lower and upper bound as
    /// `(cpu, memory)` pairs.
    pub fn recommend(
        mut self,
        container: &str,
        target: (&str, &str),
        lower: (&str, &str),
        upper: (&str, &str),
    ) -> Self {
        self.inner = self
            .inner
            .container(container)
            .target(target.0, target.1)
            .lower_bound(lower.0, lower.1)
            .upper_bound(upper.0, upper.1);
        self
    }

    pub fn build(self) -> VerticalPodAutoscaler {
        let mut vpa = self.inner.build();
        if self.policy != PodUpdatePolicy::default() {
            vpa.spec.update_policy = Some(self.policy);
        }
        vpa
    }
}

/// The container recommendations of `vpa`.
pub fn recommendation_of(vpa: &VerticalPodAutoscaler) -> Vec<RecommendedContainerResources> {
    vpa.status
        .as_ref()
        .and_then(|s| s.recommendation.as_ref())
        .and_then(|r| r.container_recommendations.clone())
        .unwrap_or_default()
}
