//! The service's configuration as plain data (pure): what the flags mean once parsed. The loop,
//! the planner and the tests see only this, never clap. The settings the rooms below the service
//! read are [`crate::config`]'s.

use std::time::Duration;

use vpa_common::features::FeatureGates;
use vpa_common::leader_election::LeaseSettings;

use crate::config::{DEFAULT_RECOMMENDER_NAME, OutputConfig};
use crate::input::prometheus_history::HistoryConfig;
use crate::logic::RecommenderConfig;
use crate::model::AggregationsConfig;

pub use vpa_common::policy::NamespaceFilter;

/// Where usage history comes from at start.
#[derive(Clone, Debug)]
pub enum Storage {
    /// Restore from `VerticalPodAutoscalerCheckpoint` objects and write them every loop.
    Checkpoints,
    /// Load history from Prometheus once at start; checkpoints are neither read nor written.
    Prometheus(Box<HistoryConfig>),
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
    /// `--feature-gates`: `PerVPAConfig` and `NativeSidecar` change the recommender.
    pub gates: FeatureGates,
}

/// Upstream's defaults: what the service runs on without flags (the flags' defaults are read
/// from here).
impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            recommender_name: DEFAULT_RECOMMENDER_NAME.into(),
            interval: Duration::from_secs(60),
            checkpoints_gc_interval: Duration::from_secs(600),
            checkpoints_timeout: Duration::from_secs(60),
            aggregate_gc_interval: Duration::from_secs(3600),
            update_worker_count: 10,
            memory_saver: false,
            namespaces: NamespaceFilter::default(),
            storage: Storage::Checkpoints,
            aggregations: AggregationsConfig::default(),
            estimation: RecommenderConfig::default(),
            output: OutputConfig::default(),
            leader_election: None,
            controllers_sync_timeout: Duration::from_secs(30),
            gates: FeatureGates::default(),
        }
    }
}

impl ServiceConfig {
    /// Upstream's defaults with the given loop interval (handy in tests).
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            interval,
            ..Self::default()
        }
    }
}
