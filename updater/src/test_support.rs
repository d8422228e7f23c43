//! Builders for pods and VPAs used by this crate's unit tests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodCondition,
    PodSpec, PodStatus, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::{
    CrossVersionObjectReference, PodUpdatePolicy, RecommendedContainerResources,
    RecommendedPodResources, ResourceList, UpdateMode, VerticalPodAutoscaler,
    VerticalPodAutoscalerSpec, VerticalPodAutoscalerStatus,
};

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

/// Builds a running pod owned by ReplicaSet `rs` in namespace `ns`.
pub struct PodBuilder(Pod);

impl PodBuilder {
    pub fn new(ns: &str, name: &str) -> Self {
        Self(Pod {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                owner_references: Some(vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: "rs".into(),
                    uid: "rs-uid".into(),
                    controller: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            spec: Some(PodSpec::default()),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                start_time: Some(Time(at(0))),
                ..Default::default()
            }),
        })
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn owner(mut self, kind: &str, name: &str) -> Self {
        let r = &mut self.0.metadata.owner_references.as_mut().unwrap()[0];
        r.kind = kind.into();
        r.name = name.into();
        self
    }

    pub fn container(mut self, name: &str, cpu: &str, memory: &str) -> Self {
        self.0.spec.as_mut().unwrap().containers.push(Container {
            name: name.into(),
            resources: Some(ResourceRequirements {
                requests: Some(resources(cpu, memory)),
                ..Default::default()
            }),
            ..Default::default()
        });
        self
    }

    #[allow(dead_code)]
    pub fn limits(mut self, cpu: &str, memory: &str) -> Self {
        let c = self.0.spec.as_mut().unwrap().containers.last_mut().unwrap();
        c.resources.as_mut().unwrap().limits = Some(resources(cpu, memory));
        self
    }

    pub fn phase(mut self, phase: &str) -> Self {
        self.0.status.as_mut().unwrap().phase = Some(phase.into());
        self
    }

    #[allow(dead_code)]
    pub fn started_at(mut self, t: Timestamp) -> Self {
        self.0.status.as_mut().unwrap().start_time = Some(Time(t));
        self
    }

    pub fn no_start_time(mut self) -> Self {
        self.0.status.as_mut().unwrap().start_time = None;
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn condition(mut self, type_: &str, reason: Option<&str>) -> Self {
        self.0
            .status
            .as_mut()
            .unwrap()
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
        self.0
            .status
            .as_mut()
            .unwrap()
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

    pub fn build(self) -> Pod {
        self.0
    }
}

/// Builds a VPA targeting Deployment `app`.
pub struct VpaBuilder(VerticalPodAutoscaler);

impl VpaBuilder {
    pub fn new(ns: &str, name: &str) -> Self {
        let mut vpa = VerticalPodAutoscaler::new(
            name,
            VerticalPodAutoscalerSpec {
                target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: "app".into(),
                },
                ..Default::default()
            },
        );
        vpa.metadata.namespace = Some(ns.into());
        Self(vpa)
    }

    fn policy(&mut self) -> &mut PodUpdatePolicy {
        self.0
            .spec
            .update_policy
            .get_or_insert_with(Default::default)
    }

    #[allow(dead_code)]
    pub fn mode(mut self, mode: UpdateMode) -> Self {
        self.policy().update_mode = Some(mode);
        self
    }

    pub fn min_replicas(mut self, n: i32) -> Self {
        self.policy().min_replicas = Some(n);
        self
    }

    pub fn eviction_requirements(
        mut self,
        reqs: Vec<vpa_common::api::EvictionRequirement>,
    ) -> Self {
        self.policy().eviction_requirements = Some(reqs);
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
        let status = self
            .0
            .status
            .get_or_insert_with(VerticalPodAutoscalerStatus::default);
        let rec = status
            .recommendation
            .get_or_insert_with(RecommendedPodResources::default);
        rec.container_recommendations
            .get_or_insert_with(Vec::new)
            .push(RecommendedContainerResources {
                container_name: Some(container.into()),
                target: resources(target.0, target.1),
                lower_bound: Some(resources(lower.0, lower.1)),
                upper_bound: Some(resources(upper.0, upper.1)),
                uncapped_target: None,
            });
        self
    }

    pub fn build(self) -> VerticalPodAutoscaler {
        self.0
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
