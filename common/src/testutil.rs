//! Test builders shared by every component (feature `test-util`): VPAs, pods, hand-filled
//! [`Controllers`](crate::controllers::Controllers) indexes, and the flag tests' helpers ([`parse_group`], [`upstream_argv`]).
//!
//! ```
//! # #[cfg(feature = "test-util")] {
//! use vpa_common::testutil::{PodBuilder, VpaBuilder};
//!
//! let vpa = VpaBuilder::new("ns", "hamster-vpa").target_ref("Deployment", "hamster")
//!     .container("app").target("250m", "200Mi").build();
//! let pod = PodBuilder::new("ns", "hamster-1").owner("ReplicaSet", "hamster-5d")
//!     .label("app", "hamster").container("app").requests("100m", "100Mi").build();
//! assert_eq!(vpa.spec.target_ref.name, "hamster");
//! assert_eq!(pod.metadata.labels.unwrap()["app"], "hamster");
//! # }
//! ```

use std::collections::BTreeMap;

mod controllers;
mod flags;
mod rollout;

pub use flags::{UPSTREAM_KLOG_ARGS, parse_group, upstream_argv};
pub use rollout::{create_rollout, rollout_crd};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;

use crate::api::{
    ContainerControlledValues, ContainerResourcePolicy, ContainerScalingMode,
    CrossVersionObjectReference, GenericStartupBoost, PodResourcePolicy, PodUpdatePolicy,
    RecommendedContainerResources, RecommendedPodResources, ResourceList, StartupBoost,
    StartupBoostType, UpdateMode, VerticalPodAutoscaler, VerticalPodAutoscalerSpec,
    VerticalPodAutoscalerStatus,
};

fn cpu_mem(cpu: &str, memory: &str) -> ResourceList {
    let mut list = ResourceList::new();
    if !cpu.is_empty() {
        list.insert("cpu".into(), Quantity(cpu.into()));
    }
    if !memory.is_empty() {
        list.insert("memory".into(), Quantity(memory.into()));
    }
    list
}

/// Builds a [`VerticalPodAutoscaler`]. Per-container settings apply to the container last named
/// with [`VpaBuilder::container`]; an empty string leaves that resource out.
#[derive(Clone, Debug)]
pub struct VpaBuilder {
    vpa: VerticalPodAutoscaler,
    container: String,
}

impl VpaBuilder {
    /// A VPA in `namespace` targeting Deployment `name` without its `-vpa` suffix (or `name`).
    pub fn new(namespace: &str, name: &str) -> Self {
        let target = name.strip_suffix("-vpa").unwrap_or(name);
        let mut vpa = VerticalPodAutoscaler::new(
            name,
            VerticalPodAutoscalerSpec {
                target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: target.into(),
                },
                ..Default::default()
            },
        );
        vpa.metadata.namespace = Some(namespace.into());
        Self {
            vpa,
            container: String::new(),
        }
    }

    /// Sets the target controller.
    pub fn target_ref(mut self, kind: &str, name: &str) -> Self {
        self.vpa.spec.target_ref.kind = kind.into();
        self.vpa.spec.target_ref.name = name.into();
        self
    }

    /// Sets `updatePolicy.updateMode`.
    pub fn mode(mut self, mode: UpdateMode) -> Self {
        self.vpa
            .spec
            .update_policy
            .get_or_insert_with(PodUpdatePolicy::default)
            .update_mode = Some(mode);
        self
    }

    /// Sets `creationTimestamp` to this many seconds after the Unix epoch.
    pub fn created(mut self, unix_seconds: i64) -> Self {
        self.vpa.metadata.creation_timestamp = Some(Time(
            Timestamp::from_second(unix_seconds).expect("valid time"),
        ));
        self
    }

    /// Sets an annotation on the VPA.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.vpa
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Selects the container the following calls configure.
    pub fn container(mut self, name: &str) -> Self {
        self.container = name.into();
        self
    }

    fn rec(&mut self) -> &mut RecommendedContainerResources {
        let name = self.container.clone();
        let recs = self
            .vpa
            .status
            .get_or_insert_with(VerticalPodAutoscalerStatus::default)
            .recommendation
            .get_or_insert_with(RecommendedPodResources::default)
            .container_recommendations
            .get_or_insert_with(Vec::new);
        if let Some(i) = recs
            .iter()
            .position(|r| r.container_name.as_deref() == Some(&name))
        {
            return &mut recs[i];
        }
        recs.push(RecommendedContainerResources {
            container_name: Some(name),
            ..Default::default()
        });
        recs.last_mut().expect("just pushed")
    }

    fn policy(&mut self) -> &mut ContainerResourcePolicy {
        let name = self.container.clone();
        let ps = self
            .vpa
            .spec
            .resource_policy
            .get_or_insert_with(PodResourcePolicy::default)
            .container_policies
            .get_or_insert_with(Vec::new);
        if let Some(i) = ps
            .iter()
            .position(|p| p.container_name.as_deref() == Some(&name))
        {
            return &mut ps[i];
        }
        ps.push(ContainerResourcePolicy {
            container_name: Some(name),
            ..Default::default()
        });
        ps.last_mut().expect("just pushed")
    }

    /// Edits the current container's policy (for fields without their own builder method).
    pub fn policy_with(mut self, edit: impl FnOnce(&mut ContainerResourcePolicy)) -> Self {
        edit(self.policy());
        self
    }

    /// Sets the recommended target (CPU, memory quantities).
    pub fn target(mut self, cpu: &str, memory: &str) -> Self {
        self.rec().target = cpu_mem(cpu, memory);
        self
    }

    /// Sets the recommendation's lower bound.
    pub fn lower_bound(mut self, cpu: &str, memory: &str) -> Self {
        self.rec().lower_bound = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the recommendation's upper bound.
    pub fn upper_bound(mut self, cpu: &str, memory: &str) -> Self {
        self.rec().upper_bound = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the recommendation's uncapped target.
    pub fn uncapped_target(mut self, cpu: &str, memory: &str) -> Self {
        self.rec().uncapped_target = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the container policy's `minAllowed`.
    pub fn min_allowed(mut self, cpu: &str, memory: &str) -> Self {
        self.policy().min_allowed = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the container policy's `maxAllowed`.
    pub fn max_allowed(mut self, cpu: &str, memory: &str) -> Self {
        self.policy().max_allowed = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the container policy's `mode`.
    pub fn container_mode(mut self, mode: ContainerScalingMode) -> Self {
        self.policy().mode = Some(mode);
        self
    }

    /// Sets the container policy's `controlledValues`.
    pub fn controlled_values(mut self, values: ContainerControlledValues) -> Self {
        self.policy().controlled_values = Some(values);
        self
    }

    /// Sets the container policy's `controlledResources`.
    pub fn controlled_resources(mut self, resources: &[&str]) -> Self {
        self.policy().controlled_resources =
            Some(resources.iter().map(|r| r.to_string()).collect());
        self
    }

    /// Sets the pod-level `startupBoost.cpu`.
    pub fn startup_boost(mut self, cpu: GenericStartupBoost) -> Self {
        self.vpa.spec.startup_boost = Some(StartupBoost { cpu: Some(cpu) });
        self
    }

    /// Sets the container policy's `startupBoost.cpu`.
    pub fn container_startup_boost(mut self, cpu: GenericStartupBoost) -> Self {
        self.policy().startup_boost = Some(StartupBoost { cpu: Some(cpu) });
        self
    }

    /// The VPA.
    pub fn build(self) -> VerticalPodAutoscaler {
        self.vpa
    }
}

/// A `Factor` CPU startup boost, boosted for `duration_seconds` after Ready.
pub fn factor_boost(factor: i32, duration_seconds: i32) -> GenericStartupBoost {
    GenericStartupBoost {
        boost_type: StartupBoostType::Factor,
        factor: Some(factor),
        quantity: None,
        duration_seconds: Some(duration_seconds),
    }
}

/// A `Quantity` CPU startup boost adding `quantity`, boosted for `duration_seconds` after Ready.
pub fn quantity_boost(quantity: &str, duration_seconds: i32) -> GenericStartupBoost {
    GenericStartupBoost {
        boost_type: StartupBoostType::Quantity,
        factor: None,
        quantity: Some(Quantity(quantity.into())),
        duration_seconds: Some(duration_seconds),
    }
}

/// Builds a [`Pod`]. Resource settings apply to the container last added with
/// [`PodBuilder::container`] (or [`PodBuilder::init_container`]).
#[derive(Clone, Debug)]
pub struct PodBuilder {
    pod: Pod,
    init: bool,
}

impl PodBuilder {
    /// A pod in `namespace` with no containers.
    pub fn new(namespace: &str, name: &str) -> Self {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            spec: Some(PodSpec::default()),
            status: None,
        };
        Self { pod, init: false }
    }

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.pod
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds an annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.pod
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Sets the controlling owner reference.
    pub fn owner(mut self, kind: &str, name: &str) -> Self {
        self.pod.metadata.owner_references = Some(vec![owner_ref(kind, name)]);
        self
    }

    fn spec(&mut self) -> &mut PodSpec {
        self.pod.spec.get_or_insert_with(PodSpec::default)
    }

    /// Adds a container without resources.
    pub fn container(mut self, name: &str) -> Self {
        self.init = false;
        self.spec().containers.push(Container {
            name: name.into(),
            ..Default::default()
        });
        self
    }

    /// Adds an init container; `sidecar` makes it a native sidecar (`restartPolicy: Always`).
    pub fn init_container(mut self, name: &str, sidecar: bool) -> Self {
        self.init = true;
        let c = Container {
            name: name.into(),
            restart_policy: sidecar.then(|| "Always".to_string()),
            ..Default::default()
        };
        self.spec()
            .init_containers
            .get_or_insert_with(Vec::new)
            .push(c);
        self
    }

    fn current(&mut self) -> &mut ResourceRequirements {
        let init = self.init;
        let spec = self.spec();
        let c = if init {
            spec.init_containers.as_mut().and_then(|v| v.last_mut())
        } else {
            spec.containers.last_mut()
        };
        c.expect("add a container first")
            .resources
            .get_or_insert_with(ResourceRequirements::default)
    }

    /// Sets the current container's requests.
    pub fn requests(mut self, cpu: &str, memory: &str) -> Self {
        self.current().requests = Some(cpu_mem(cpu, memory));
        self
    }

    /// Sets the current container's limits.
    pub fn limits(mut self, cpu: &str, memory: &str) -> Self {
        self.current().limits = Some(cpu_mem(cpu, memory));
        self
    }

    /// The pod.
    pub fn build(self) -> Pod {
        self.pod
    }
}

/// A controlling owner reference.
pub fn owner_ref(kind: &str, name: &str) -> OwnerReference {
    let api_version = match kind {
        "Job" | "CronJob" => "batch/v1",
        "ReplicationController" | "Node" => "v1",
        _ => "apps/v1",
    };
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: format!("uid-{kind}-{name}"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}
