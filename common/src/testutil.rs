//! Test builders shared by every component (feature `test-util`): VPAs, pods, an in-memory
//! [`ControllerLookup`], and the flag tests' helpers ([`parse_group`], [`upstream_argv`]).
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

mod flags;

pub use flags::{UPSTREAM_KLOG_ARGS, parse_group, upstream_argv};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, OwnerReference, Time,
};
use k8s_openapi::jiff::Timestamp;

use crate::api::{
    ContainerControlledValues, ContainerResourcePolicy, ContainerScalingMode,
    CrossVersionObjectReference, PodResourcePolicy, PodUpdatePolicy, RecommendedContainerResources,
    RecommendedPodResources, ResourceList, UpdateMode, VerticalPodAutoscaler,
    VerticalPodAutoscalerSpec, VerticalPodAutoscalerStatus,
};
use crate::matching::{ControllerKey, ControllerLookup, selector_from_labels};

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

    /// The VPA.
    pub fn build(self) -> VerticalPodAutoscaler {
        self.vpa
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

/// (namespace, kind, name).
type ObjectKey = (String, String, String);

/// An in-memory [`ControllerLookup`]: controllers with their owner and selector.
#[derive(Clone, Debug, Default)]
pub struct FakeControllers {
    objects: BTreeMap<ObjectKey, (Vec<OwnerReference>, Option<LabelSelector>)>,
    scalable: Vec<String>,
}

impl FakeControllers {
    /// An empty lookup.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a controller, optionally owned by `owner` (kind, name), selecting `labels`.
    pub fn add(
        mut self,
        namespace: &str,
        kind: &str,
        name: &str,
        owner: Option<(&str, &str)>,
        labels: &[(&str, &str)],
    ) -> Self {
        let owners = owner
            .map(|(k, n)| vec![owner_ref(k, n)])
            .unwrap_or_default();
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.objects.insert(
            (namespace.into(), kind.into(), name.into()),
            (owners, Some(selector_from_labels(&labels))),
        );
        self
    }

    /// Declares a kind to have a scale subresource.
    pub fn scalable_kind(mut self, kind: &str) -> Self {
        self.scalable.push(kind.into());
        self
    }

    /// The usual chain: Deployment `name` owning ReplicaSet `<name>-rs`, selecting `app=<name>`.
    pub fn deployment(self, namespace: &str, name: &str) -> Self {
        let rs = format!("{name}-rs");
        self.add(namespace, "Deployment", name, None, &[("app", name)])
            .add(
                namespace,
                "ReplicaSet",
                &rs,
                Some(("Deployment", name)),
                &[("app", name)],
            )
    }
}

impl ControllerLookup for FakeControllers {
    fn owner_references(
        &self,
        namespace: &str,
        key: &ControllerKey,
    ) -> Option<Vec<OwnerReference>> {
        let k = (namespace.to_string(), key.kind.clone(), key.name.clone());
        self.objects.get(&k).map(|(o, _)| o.clone())
    }

    fn selector(&self, namespace: &str, key: &ControllerKey) -> Option<LabelSelector> {
        let k = (namespace.to_string(), key.kind.clone(), key.name.clone());
        self.objects.get(&k).and_then(|(_, s)| s.clone())
    }

    fn is_scalable(&self, key: &ControllerKey) -> bool {
        self.scalable.contains(&key.kind)
    }
}

/// An Argo-Rollout-like CRD (`rollouts.example.com`, kind `Rollout`, v1) with a scale
/// subresource whose selector is read at `.status.selector`, as Kubernetes does: the custom
/// workload kind that tests of scale-subresource targets use.
pub fn rollout_crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "rollouts.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}
    }))
    .expect("valid CRD")
}

/// Creates [`rollout_crd`] through `client`, waits until the API server serves it, then creates
/// Rollout `namespace/name` selecting pods labelled `app=<app>` with `replicas`, its status
/// carrying the selector string the scale subresource reports. Returns the stored object.
pub async fn create_rollout(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    app: &str,
    replicas: i32,
) -> kube::api::DynamicObject {
    use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
    use kube::core::{ApiResource, GroupVersionKind};
    use serde_json::json;

    Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &rollout_crd())
        .await
        .expect("create the Rollout CRD");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Rollout"),
        "rollouts",
    );
    let rollouts: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let created = loop {
        let object = DynamicObject::new(name, &resource).data(
            json!({"spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}}}),
        );
        match rollouts.create(&PostParams::default(), &object).await {
            Ok(created) => break created,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "CRD never served: {e}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let status = json!({"status": {"replicas": replicas, "selector": format!("app={app}")}});
    rollouts
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("set the Rollout's status");
    created
}
