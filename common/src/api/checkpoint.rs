//! `VerticalPodAutoscalerCheckpoint`: the recommender's saved histograms (pure data).
//!
//! The format is upstream's `v3`: bucket weights scaled so the heaviest bucket is 10000, plus the
//! unscaled total weight and the decay reference timestamp, so checkpoints move between upstream
//! VPA and ours in both directions.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema;

/// The checkpoint format version written and accepted.
pub const CHECKPOINT_VERSION: &str = "v3";

/// Which VPA and container a checkpoint belongs to.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "autoscaling.k8s.io",
    version = "v1",
    kind = "VerticalPodAutoscalerCheckpoint",
    namespaced,
    status = "VerticalPodAutoscalerCheckpointStatus",
    shortname = "vpacheckpoint",
    annotation(
        "api-approved.kubernetes.io",
        "https://github.com/kubernetes/kubernetes/pull/63797"
    ),
    doc = "The saved usage history of one container of one VPA, restored after a recommender restart."
)]
#[serde(rename_all = "camelCase")]
pub struct VerticalPodAutoscalerCheckpointSpec {
    /// Name of the VPA this checkpoint belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpa_object_name: Option<String>,
    /// Name of the checkpointed container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
}

/// The saved state. Not a status subresource: the whole object is written at once.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerticalPodAutoscalerCheckpointStatus {
    /// When the checkpoint was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::nullable_time")]
    pub last_update_time: Option<Time>,
    /// Format version; `v3` is the only one restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// CPU usage histogram (cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_histogram: Option<HistogramCheckpoint>,
    /// Memory peak histogram (bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_histogram: Option<HistogramCheckpoint>,
    /// Start of the first sample in the histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::nullable_time")]
    pub first_sample_start: Option<Time>,
    /// Start of the last sample in the histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::nullable_time")]
    pub last_sample_start: Option<Time>,
    /// Number of CPU samples behind the histograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_samples_count: Option<i64>,
}

/// One histogram in checkpoint form.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistogramCheckpoint {
    /// Decay reference: sample weights are relative to this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::nullable_time")]
    pub reference_timestamp: Option<Time>,
    /// Bucket index -> weight, scaled so that the heaviest bucket is 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::bucket_weights")]
    pub bucket_weights: Option<BTreeMap<u32, u32>>,
    /// Sum of the unscaled weights; the denominator for `bucketWeights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_weight: Option<f64>,
}
