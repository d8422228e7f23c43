//! `VerticalPodAutoscaler`: spec, status and their enums (pure data).

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ResourceList;
use super::schema;

/// Desired behaviour of a VPA: which controller's pods it sizes and how changes are applied.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "autoscaling.k8s.io",
    version = "v1",
    kind = "VerticalPodAutoscaler",
    namespaced,
    status = "VerticalPodAutoscalerStatus",
    shortname = "vpa",
    annotation(
        "api-approved.kubernetes.io",
        "https://github.com/kubernetes/kubernetes/pull/63797"
    ),
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.updatePolicy.updateMode"}"#,
    printcolumn = r#"{"name":"CPU","type":"string","jsonPath":".status.recommendation.containerRecommendations[0].target.cpu"}"#,
    printcolumn = r#"{"name":"Mem","type":"string","jsonPath":".status.recommendation.containerRecommendations[0].target.memory"}"#,
    printcolumn = r#"{"name":"Provided","type":"string","jsonPath":".status.conditions[?(@.type=='RecommendationProvided')].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"MinReplicas","type":"integer","jsonPath":".spec.updatePolicy.minReplicas","priority":1}"#,
    printcolumn = r#"{"name":"OOMSeconds","type":"integer","jsonPath":".spec.updatePolicy.evictAfterOOMSeconds","priority":1}"#,
    doc = "Automatically sets the resource requests of the pods of one controller from their observed usage."
)]
#[serde(rename_all = "camelCase")]
pub struct VerticalPodAutoscalerSpec {
    /// The controller that owns the pods this VPA sizes (a Deployment, StatefulSet, any kind with a
    /// scale subresource, ...). Only its pod selector is read; the replica count is never changed.
    pub target_ref: CrossVersionObjectReference,
    /// How recommendations are applied to pods. When absent every field takes its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<PodUpdatePolicy>,
    /// Per-container constraints on the recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<PodResourcePolicy>,
    /// The recommender that computes this VPA's recommendation. Empty means the `default`
    /// recommender; at most one entry is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommenders: Option<Vec<VerticalPodAutoscalerRecommenderSelector>>,
    /// Pod-level CPU startup boost (alpha, feature gate `CPUStartupBoost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_boost: Option<StartupBoost>,
}

/// Reference to the target controller (`autoscaling/v1` CrossVersionObjectReference).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-map-type" = "atomic"))]
pub struct CrossVersionObjectReference {
    /// API version of the referent, e.g. `apps/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent, e.g. `Deployment`.
    pub kind: String,
    /// Name of the referent, in the VPA's namespace.
    pub name: String,
}

/// When and how recommendations reach running pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodUpdatePolicy {
    /// Controls when the autoscaler applies changes to the pod resources. Default `Recreate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_mode: Option<UpdateMode>,
    /// Minimal number of live replicas needed before the updater evicts one of them. Must be
    /// positive. Overrides the updater's `--min-replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// All of these must hold for a pod to be evicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_requirements: Option<Vec<EvictionRequirement>>,
    /// Pods OOM-killed within this many seconds of starting are evicted at once (alpha,
    /// feature gate `PerVPAConfig`). Overrides `--evict-after-oom-threshold`.
    #[serde(
        default,
        rename = "evictAfterOOMSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub evict_after_oom_seconds: Option<i32>,
}

/// When recommendations are applied.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum UpdateMode {
    /// Recommendations are computed but never applied.
    Off,
    /// Applied only when a pod is created.
    Initial,
    /// Applied at creation, and running pods are evicted when they drift.
    #[default]
    Recreate,
    /// Resized in place where possible, evicted otherwise.
    InPlaceOrRecreate,
    /// Resized in place only, never evicted (alpha, feature gate `InPlace`).
    InPlace,
    /// Deprecated alias of `Recreate`.
    Auto,
}

impl UpdateMode {
    /// The mode upstream uses when none is given (`Recreate`).
    pub fn or_default(mode: Option<Self>) -> Self {
        mode.unwrap_or_default()
    }

    /// Whether the updater acts on running pods in this mode.
    pub fn updates_running_pods(self) -> bool {
        matches!(
            self,
            Self::Recreate | Self::Auto | Self::InPlaceOrRecreate | Self::InPlace
        )
    }

    /// The value as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "Off",
            Self::Initial => "Initial",
            Self::Recreate => "Recreate",
            Self::InPlaceOrRecreate => "InPlaceOrRecreate",
            Self::InPlace => "InPlace",
            Self::Auto => "Auto",
        }
    }
}

/// A condition on the direction of change that must hold for an eviction.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvictionRequirement {
    /// Resources the requirement looks at; it holds when any of them meets `changeRequirement`.
    pub resources: Vec<String>,
    /// The relation between the new target and the current requests.
    pub change_requirement: EvictionChangeRequirement,
}

/// Direction of change required for eviction.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum EvictionChangeRequirement {
    /// The new target is above the current request.
    TargetHigherThanRequests,
    /// The new target is below the current request.
    TargetLowerThanRequests,
}

/// Constraints on recommendations, per container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodResourcePolicy {
    /// Per-container policies; `containerName: "*"` applies to containers without their own entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_policies: Option<Vec<ContainerResourcePolicy>>,
}

/// Name of the default container policy.
pub const DEFAULT_CONTAINER_POLICY: &str = "*";

/// How the autoscaler computes the recommendation for one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResourcePolicy {
    /// Container name, or `*` for the default policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Whether the autoscaler is enabled for the container. Default `Auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ContainerScalingMode>,
    /// Lowest recommendation allowed (cores, bytes). No minimum by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::resource_list")]
    pub min_allowed: Option<ResourceList>,
    /// Highest recommendation allowed (cores, bytes). No maximum by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::resource_list")]
    pub max_allowed: Option<ResourceList>,
    /// Resources to recommend for, `cpu` and/or `memory`. Default `[cpu, memory]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::controlled_resources")]
    pub controlled_resources: Option<Vec<String>>,
    /// Whether only requests, or requests and limits (in proportion) are set. Default
    /// `RequestsAndLimits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_values: Option<ContainerControlledValues>,
    /// Ratio by which memory grows after an OOM kill (alpha, `PerVPAConfig`); at least 1.
    #[serde(
        default,
        rename = "oomBumpUpRatio",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::quantity")]
    pub oom_bump_up_ratio: Option<Quantity>,
    /// Smallest memory increase after an OOM kill, bytes (alpha, `PerVPAConfig`).
    #[serde(
        default,
        rename = "oomMinBumpUp",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::quantity")]
    pub oom_min_bump_up: Option<Quantity>,
    /// Length of one memory peak interval, seconds (alpha, `PerVPAConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub memory_aggregation_interval_seconds: Option<i32>,
    /// Number of memory peak intervals in the window (alpha, `PerVPAConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub memory_aggregation_interval_count: Option<i64>,
    /// Container-level CPU startup boost, overriding the pod-level one (alpha).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_boost: Option<StartupBoost>,
}

/// Whether the autoscaler is enabled for a container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ContainerScalingMode {
    /// Recommend and apply.
    #[default]
    Auto,
    /// No recommendation for this container.
    Off,
}

/// Which resource values the autoscaler controls.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ContainerControlledValues {
    /// Requests are set and limits scaled in proportion.
    #[default]
    RequestsAndLimits,
    /// Only requests are set; limits are left as they are.
    RequestsOnly,
}

/// Selects the recommender that computes a VPA's recommendation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct VerticalPodAutoscalerRecommenderSelector {
    /// Name of the recommender (`--recommender-name`).
    pub name: String,
}

/// Startup boost policy (alpha, feature gate `CPUStartupBoost`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct StartupBoost {
    /// CPU boost; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<GenericStartupBoost>,
}

/// How much CPU to add while a pod starts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "(self.type == 'Factor') == has(self.factor)", "message": "factor is required when type is Factor and forbidden otherwise"},
    {"rule": "(self.type == 'Quantity') == has(self.quantity)", "message": "quantity is required when type is Quantity and forbidden otherwise"}
]))]
pub struct GenericStartupBoost {
    /// `Factor` multiplies the request; `Quantity` sets it.
    #[serde(rename = "type")]
    pub boost_type: StartupBoostType,
    /// Multiplier for `Factor`; at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i32>,
    /// Request and limit (cores) for `Quantity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::quantity")]
    pub quantity: Option<Quantity>,
    /// Seconds to stay boosted after the pod becomes Ready. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i32>,
}

/// Kind of startup boost.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum StartupBoostType {
    /// Multiply the request by `factor`.
    Factor,
    /// Set the request to `quantity`.
    Quantity,
}

/// Observed state written by the recommender.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerticalPodAutoscalerStatus {
    /// The most recent recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<RecommendedPodResources>,
    /// Conditions such as `RecommendationProvided`, sorted by type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<VerticalPodAutoscalerCondition>>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// Recommended resources for every controlled container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedPodResources {
    /// One entry per container, sorted by name; containers with mode Off are absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_recommendations: Option<Vec<RecommendedContainerResources>>,
}

/// The recommendation for one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecommendedContainerResources {
    /// Container name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Recommended requests after the container policy.
    #[schemars(schema_with = "schema::resource_list")]
    pub target: ResourceList,
    /// Below this, performance is likely to suffer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::resource_list")]
    pub lower_bound: Option<ResourceList>,
    /// Above this, resources are likely wasted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::resource_list")]
    pub upper_bound: Option<ResourceList>,
    /// The target from usage alone, before the container policy; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::resource_list")]
    pub uncapped_target: Option<ResourceList>,
}

/// A condition of a VPA.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerticalPodAutoscalerCondition {
    /// Condition type, e.g. `RecommendationProvided`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// Condition types of a VPA.
pub mod condition {
    /// A recommendation is present in status.
    pub const RECOMMENDATION_PROVIDED: &str = "RecommendationProvided";
    /// The recommendation rests on little data.
    pub const LOW_CONFIDENCE: &str = "LowConfidence";
    /// No pod matches the VPA's target.
    pub const NO_PODS_MATCHED: &str = "NoPodsMatched";
    /// History is still being loaded.
    pub const FETCHING_HISTORY: &str = "FetchingHistory";
    /// The VPA uses a deprecated configuration.
    pub const CONFIG_DEPRECATED: &str = "ConfigDeprecated";
    /// The VPA's configuration cannot be served.
    pub const CONFIG_UNSUPPORTED: &str = "ConfigUnsupported";
}
