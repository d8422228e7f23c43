//! The recommender's usage model (pure): histograms, per-instance container state and the
//! per-container aggregates the estimators read. Nothing here reads the clock or does I/O:
//! every time is a [`Timestamp`] (whole Unix seconds) passed in by the caller.

mod aggregate;
mod cluster;
mod config;
mod container;
mod decaying_histogram;
mod histogram;
mod histogram_options;
mod overrides;
mod types;

pub use aggregate::{AggregateContainerState, ContainerStateAggregator};
pub use cluster::{AggregateKey, ClusterState, ContainerId, HistoryWeight};
pub use config::{AggregationOverrides, AggregationsConfig};
pub use container::{ContainerState, OomError};
pub use decaying_histogram::{DecayingHistogram, MAX_DECAY_EXPONENT, round_to_multiple};
pub use histogram::{Histogram, HistogramLoadError, MAX_CHECKPOINT_WEIGHT};
pub use histogram_options::{DEFAULT_EPSILON, HistogramOptions, HistogramOptionsError};
pub use overrides::{ContainerOverrides, WorkloadOverrides};
pub use types::*;
