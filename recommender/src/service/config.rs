//! The service's configuration as plain data (pure): what the flags mean once parsed. The loop,
//! the planner and the tests see only this, never clap.

use std::time::Duration;

use vpa_common::leader_election::LeaseSettings;
use vpa_common::resources::Amounts;

use crate::input::prometheus_history::HistoryConfig;
use crate::logic::RecommenderConfig;
use crate::model::AggregationsConfig;

/// Name of the recommender that also handles VPAs naming no recommender.
pub const DEFAULT_RECOMMENDER_NAME: &str = "default";

pub use vpa_common::policy::NamespaceFilter;

/// Where usage history comes from at start.
#[derive(Clone, Debug)]
pub enum Storage {
    /// Restore from `VerticalPodAutoscalerCheckpoint` objects and write them every loop.
    Checkpoints,
    /// Load history from Prometheus once at start; checkpoints are neither read nor written.
    Prometheus(Box<HistoryConfig>),
}

/// Post-processing of recommendations before they are written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputConfig {
    /// Upper bound for resources a container policy's `maxAllowed` leaves out
    /// (`--container-recommendation-max-allowed-cpu/-memory`; millicores, bytes).
    pub global_max_allowed: Amounts,
    /// Round CPU up to a multiple of this many millicores (`--round-cpu-millicores`, 1 = off).
    pub round_cpu_millicores: i64,
    /// Round memory up to a multiple of this many bytes (`--round-memory-bytes`, 1 = off).
    pub round_memory_bytes: i64,
    /// Honour the `vpa-post-processor.kubernetes.io/<container>_integerCPU` annotation
    /// (`--cpu-integer-post-processor-enabled`).
    pub integer_cpu: bool,
}

/// Everything the running service needs.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// `--recommender-name`.
    pub recommender_name: String,
    /// Time between loops (`--recommender-interval`, 1 minute).
    pub interval: Duration,
    /// Time between checkpoint garbage collections (`--checkpoints-gc-interval`, 10 minutes).
    pub checkpoints_gc_interval: Duration,
    /// Budget for writing checkpoints in one loop (`--checkpoints-timeout`, 1 minute).
    pub checkpoints_timeout: Duration,
    /// Time between aggregate garbage collections (1 hour, as upstream).
    pub aggregate_gc_interval: Duration,
    /// Concurrent status and checkpoint writes (`--update-worker-count`, 10).
    pub update_worker_count: usize,
    /// Only model pods matched by some VPA (`--memory-saver`).
    pub memory_saver: bool,
    /// Which VPAs are handled.
    pub namespaces: NamespaceFilter,
    /// History source.
    pub storage: Storage,
    /// Aggregation settings of the model.
    pub aggregations: AggregationsConfig,
    /// Estimation settings.
    pub estimation: RecommenderConfig,
    /// Post-processing.
    pub output: OutputConfig,
    /// Leader election, when enabled (`--leader-elect`).
    pub leader_election: Option<LeaseSettings>,
    /// How long to wait at start for each controller kind's cache (a kind the API server does
    /// not serve stays empty after that).
    pub controllers_sync_timeout: Duration,
}

impl ServiceConfig {
    /// Upstream's defaults with the given loop interval (handy in tests).
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            recommender_name: DEFAULT_RECOMMENDER_NAME.into(),
            interval,
            checkpoints_gc_interval: Duration::from_secs(600),
            checkpoints_timeout: Duration::from_secs(60),
            aggregate_gc_interval: Duration::from_secs(3600),
            update_worker_count: 10,
            memory_saver: false,
            namespaces: NamespaceFilter::default(),
            storage: Storage::Checkpoints,
            aggregations: AggregationsConfig::default(),
            estimation: RecommenderConfig::default(),
            output: OutputConfig {
                round_cpu_millicores: 1,
                round_memory_bytes: 1,
                ..OutputConfig::default()
            },
            leader_election: None,
            controllers_sync_timeout: Duration::from_secs(30),
        }
    }
}
