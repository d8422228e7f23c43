//! Aggregation settings (pure data), with upstream's flag defaults, and the per-VPA overrides of
//! some of them (feature gate `PerVPAConfig`).

use super::types::{DAY, Seconds};

/// How samples are aggregated: memory peak windows, decay half-lives and the OOM bump.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AggregationsConfig {
    /// Length of one memory peak window (`--memory-aggregation-interval`, 24h).
    pub memory_aggregation_interval: Seconds,
    /// Number of windows kept (`--memory-aggregation-interval-count`, 8).
    pub memory_aggregation_interval_count: i64,
    /// CPU histogram half-life (`--cpu-histogram-decay-half-life`, 24h).
    pub cpu_histogram_decay_half_life: Seconds,
    /// Memory histogram half-life (`--memory-histogram-decay-half-life`, 24h).
    pub memory_histogram_decay_half_life: Seconds,
    /// Memory after an OOM is at least this multiple of the memory used (`--oom-bump-up-ratio`, 1.2).
    pub oom_bump_up_ratio: f64,
    /// ... and at least this many bytes more (`--oom-min-bump-up-bytes`, 100Mi).
    pub oom_min_bump_up_bytes: f64,
}

impl Default for AggregationsConfig {
    fn default() -> Self {
        Self {
            memory_aggregation_interval: DAY,
            memory_aggregation_interval_count: 8,
            cpu_histogram_decay_half_life: DAY,
            memory_histogram_decay_half_life: DAY,
            oom_bump_up_ratio: 1.2,
            oom_min_bump_up_bytes: 100.0 * 1024.0 * 1024.0,
        }
    }
}

impl AggregationsConfig {
    /// How long an aggregate lives without samples, and how far back memory peaks reach:
    /// interval × count (8 days by default).
    pub fn memory_aggregation_window_length(&self) -> Seconds {
        self.memory_aggregation_interval
            .saturating_mul(self.memory_aggregation_interval_count)
    }
}

/// A container policy's `PerVPAConfig` settings: each one set replaces the flag's value for the
/// aggregates of that container (upstream carries them on the aggregate state). Units as in
/// [`AggregationsConfig`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AggregationOverrides {
    /// `oomBumpUpRatio`.
    pub oom_bump_up_ratio: Option<f64>,
    /// `oomMinBumpUp`, bytes.
    pub oom_min_bump_up_bytes: Option<f64>,
    /// `memoryAggregationIntervalSeconds`.
    pub memory_aggregation_interval: Option<Seconds>,
    /// `memoryAggregationIntervalCount`.
    pub memory_aggregation_interval_count: Option<i64>,
}

impl AggregationOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl AggregationsConfig {
    /// These settings with `overrides` applied.
    pub fn with(mut self, overrides: &AggregationOverrides) -> Self {
        let o = overrides;
        self.oom_bump_up_ratio = o.oom_bump_up_ratio.unwrap_or(self.oom_bump_up_ratio);
        self.oom_min_bump_up_bytes = o
            .oom_min_bump_up_bytes
            .unwrap_or(self.oom_min_bump_up_bytes);
        self.memory_aggregation_interval = o
            .memory_aggregation_interval
            .unwrap_or(self.memory_aggregation_interval);
        self.memory_aggregation_interval_count = o
            .memory_aggregation_interval_count
            .unwrap_or(self.memory_aggregation_interval_count);
        self
    }
}
