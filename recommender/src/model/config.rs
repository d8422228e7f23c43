//! Aggregation settings (pure data), with upstream's flag defaults.

use super::types::{DAY, Seconds};

/// How samples are aggregated: memory peak windows, decay half-lives and the OOM bump.
#[derive(Clone, Debug, PartialEq)]
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
