//! Flags of the recommender service, with upstream's names (spec §2.11), and their conversion
//! into the plain [`ServiceConfig`], whose `Default` gives the flags' defaults. Estimation and
//! aggregation flags live in [`crate::config::engine::EngineArgs`], shared with `replay`; the flags every component has are
//! `vpa_common::component`'s.

use std::time::Duration;

use clap::{ArgAction, Args};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use vpa_common::resources::{self, CPU, MEMORY};

use vpa_common::component::{Component, ComponentFlags};
use vpa_common::leader_election::LeaderElectFlags;

pub use prometheus::PrometheusSourceArgs;

use super::config::{ServiceConfig, Storage};
use crate::config::engine::EngineArgs;
use crate::config::{DEFAULT_RECOMMENDER_NAME, OutputConfig};

/// Flags of the running service.
#[derive(Args, Clone, Debug)]
pub struct ServiceArgs {
    /// Name of this recommender: it handles the VPAs whose `spec.recommenders` names it
    /// (`default` also handles VPAs naming none).
    #[arg(long, env = "VPA_RECOMMENDER_NAME", default_value = DEFAULT_RECOMMENDER_NAME)]
    pub recommender_name: String,
    /// How often metrics are fetched and recommendations recomputed.
    #[arg(long, default_value = go(defaults().interval), value_parser = parse_duration)]
    pub recommender_interval: Duration,
    /// How often checkpoints of deleted VPAs are garbage-collected.
    #[arg(long, default_value = go(defaults().checkpoints_gc_interval), value_parser = parse_duration)]
    pub checkpoints_gc_interval: Duration,
    /// Time budget for writing checkpoints in one loop; the oldest are written first.
    #[arg(long, default_value = go(defaults().checkpoints_timeout), value_parser = parse_duration)]
    pub checkpoints_timeout: Duration,
    /// Deprecated, ignored (upstream's minimum number of checkpoints written per loop).
    #[arg(long, default_value_t = 10, hide = true)]
    pub min_checkpoints: u32,
    /// History source: empty for checkpoints, or `prometheus` to load history at start.
    #[arg(long, default_value = "", value_parser = ["", "checkpoint", "prometheus"])]
    pub storage: String,
    /// Only model pods that some VPA matches (less memory; history starts with the VPA).
    #[arg(long, default_value_t = defaults().memory_saver, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub memory_saver: bool,
    /// Number of concurrent status and checkpoint writes.
    #[arg(long, default_value_t = defaults().update_worker_count)]
    pub update_worker_count: usize,
    /// Deprecated, ignored: memory is always written in exact bytes.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub humanize_memory: bool,
    /// Round CPU recommendations up to a multiple of this many millicores (1 = exact).
    #[arg(long, default_value_t = defaults().output.round_cpu_millicores)]
    pub round_cpu_millicores: i64,
    /// Round memory recommendations up to a multiple of this many bytes (1 = exact).
    #[arg(long, default_value_t = defaults().output.round_memory_bytes)]
    pub round_memory_bytes: i64,
    /// Round CPU up to whole cores for containers named in a VPA annotation
    /// `vpa-post-processor.kubernetes.io/<container>_integerCPU: "true"`.
    #[arg(long, default_value_t = defaults().output.integer_cpu, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cpu_integer_post_processor_enabled: bool,
    /// Largest CPU recommended for a container whose policy sets no `maxAllowed` CPU.
    #[arg(long, value_name = "QUANTITY")]
    pub container_recommendation_max_allowed_cpu: Option<String>,
    /// Largest memory recommended for a container whose policy sets no `maxAllowed` memory.
    #[arg(long, value_name = "QUANTITY")]
    pub container_recommendation_max_allowed_memory: Option<String>,

    /// How long to wait at start for each controller kind's watch cache; a kind the API server
    /// does not serve is skipped after that.
    #[arg(long, default_value = go(defaults().controllers_sync_timeout), value_parser = parse_duration, hide = true)]
    pub controllers_sync_timeout: Duration,

    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    #[command(flatten)]
    pub leader: LeaderArgs,
    /// The flags every component has (`--kubeconfig`, `--address`, namespaces, gates, klog).
    #[command(flatten)]
    pub common: ComponentFlags<RecommenderFlags>,
}

/// Prometheus history flags (used with `--storage=prometheus`).
#[derive(Args, Clone, Debug)]
pub struct PrometheusArgs {
    /// Where Prometheus is and which series hold container usage (shared with `report`).
    #[command(flatten)]
    pub source: PrometheusSourceArgs,
    /// Prefix of pod label names in `--metric-for-pod-labels` (accepted for compatibility).
    #[arg(long, default_value = "pod_label_")]
    pub pod_label_prefix: String,
    /// Metric carrying pod labels (accepted for compatibility: pods are mapped to workloads
    /// through the cluster instead).
    #[arg(long, default_value = "up{job=\"kubernetes-pods\"}")]
    pub metric_for_pod_labels: String,
    /// Label holding a pod's namespace in `--metric-for-pod-labels`.
    #[arg(long, default_value = "kubernetes_namespace")]
    pub pod_namespace_label: String,
    /// Label holding a pod's name in `--metric-for-pod-labels`.
    #[arg(long, default_value = "kubernetes_pod_name")]
    pub pod_name_label: String,
    /// Use external.metrics.k8s.io instead of metrics.k8s.io (not supported; refused).
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_external_metrics: bool,
    /// External metric for CPU (with `--use-external-metrics`).
    #[arg(long, default_value = "")]
    pub external_metrics_cpu_metric: String,
    /// External metric for memory (with `--use-external-metrics`).
    #[arg(long, default_value = "")]
    pub external_metrics_memory_metric: String,
}

/// Leader election flags (client-go's names), with the recommender's Lease name.
#[derive(Args, Clone, Debug)]
pub struct LeaderArgs {
    /// `--leader-elect` and the timings, as every component has them.
    #[command(flatten)]
    pub election: LeaderElectFlags,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "vpa-recommender-lease")]
    pub leader_elect_resource_name: String,
}

/// What the recommender's shared flags differ in: port 8942, and `--address` and
/// `--vpa-object-namespace` are also read from the environment.
#[derive(Clone, Debug)]
pub struct RecommenderFlags;

impl Component for RecommenderFlags {
    const ADMIN_ADDRESS: &'static str = ":8942";
    const ADMIN_ADDRESS_ENV: Option<&'static str> = Some("VPA_RECOMMENDER_ADDRESS");
    const NAMESPACE_ENV: Option<&'static str> = Some("VPA_OBJECT_NAMESPACE");
}

/// A flag value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// A quantity flag does not parse.
    #[error("--{flag}: {value:?} is not a quantity: {reason}")]
    Quantity {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// An option that is accepted but not implemented was switched on.
    #[error("{0} is not supported by this recommender")]
    Unsupported(&'static str),
    /// `--feature-gates` does not parse or names an unknown gate.
    #[error("--feature-gates: {0}")]
    FeatureGates(String),
    /// Both namespace flags were given (clap refuses that already).
    #[error("{0}")]
    Namespaces(String),
    /// Prometheus authentication flags conflict.
    #[error("use one of --prometheus-bearer-token, --prometheus-bearer-token-file, --username")]
    ConflictingAuth,
}

fn max_allowed(
    flag: &'static str,
    resource: &str,
    value: Option<&String>,
    into: &mut vpa_common::resources::Amounts,
) -> Result<(), ArgsError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let amount =
        resources::amount(resource, &Quantity(value.clone())).map_err(|e| ArgsError::Quantity {
            flag,
            value: value.clone(),
            reason: e.to_string(),
        })?;
    into.insert(resource.to_owned(), amount);
    Ok(())
}

impl ServiceArgs {
    /// The configuration these flags (and the shared engine flags) select.
    pub fn config(&self, engine: &EngineArgs) -> Result<ServiceConfig, ArgsError> {
        if self.prometheus.use_external_metrics {
            return Err(ArgsError::Unsupported("--use-external-metrics"));
        }
        let mut output = OutputConfig {
            round_cpu_millicores: self.round_cpu_millicores.max(1),
            round_memory_bytes: self.round_memory_bytes.max(1),
            integer_cpu: self.cpu_integer_post_processor_enabled,
            ..OutputConfig::default()
        };
        max_allowed(
            "container-recommendation-max-allowed-cpu",
            CPU,
            self.container_recommendation_max_allowed_cpu.as_ref(),
            &mut output.global_max_allowed,
        )?;
        max_allowed(
            "container-recommendation-max-allowed-memory",
            MEMORY,
            self.container_recommendation_max_allowed_memory.as_ref(),
            &mut output.global_max_allowed,
        )?;
        let namespaces = self.common.namespaces().map_err(ArgsError::Namespaces)?;
        let storage = if self.storage == "prometheus" {
            Storage::Prometheus(Box::new(
                self.prometheus
                    .source
                    .history_config(namespaces.only.clone())?,
            ))
        } else {
            Storage::Checkpoints
        };
        let gates = self.common.gates().map_err(ArgsError::FeatureGates)?;
        let leader = &self.leader;
        Ok(ServiceConfig {
            recommender_name: self.recommender_name.clone(),
            interval: self.recommender_interval,
            checkpoints_gc_interval: self.checkpoints_gc_interval,
            checkpoints_timeout: self.checkpoints_timeout,
            aggregate_gc_interval: defaults().aggregate_gc_interval,
            update_worker_count: self.update_worker_count.max(1),
            memory_saver: self.memory_saver,
            namespaces,
            storage,
            aggregations: engine.aggregations_config(),
            estimation: engine.recommender_config(),
            output,
            leader_election: leader.election.settings(&leader.leader_elect_resource_name),
            controllers_sync_timeout: self.controllers_sync_timeout,
            gates,
        })
    }
}

/// The defaults the flags show and start from.
fn defaults() -> ServiceConfig {
    ServiceConfig::default()
}

/// `d` as a Go duration (`1m0s`), the form a default is shown and parsed in.
fn go(d: Duration) -> String {
    vpa_common::duration::format_go(d)
}

/// A Go or Prometheus duration (`90s`, `1m30s`, `500ms`, `8d`, `1w`), greater than zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    vpa_common::duration::parse_positive_duration(text)
}

mod prometheus;
#[cfg(test)]
mod tests;
