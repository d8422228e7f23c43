//! The usage history of one container of one workload (pure), upstream's
//! `AggregateContainerState`.
//!
//! CPU samples go into a decaying histogram of cores, each with the constant weight
//! [`CPU_SAMPLE_WEIGHT`] (upstream dropped request weighting in 1.4.0). Memory goes into a
//! decaying histogram of *peaks*: each container instance contributes one peak per aggregation
//! interval (see [`super::container`]), with weight 1. First/last sample time and the sample count
//! come from CPU samples only and feed the confidence of the bounds.

use super::config::AggregationsConfig;
use super::decaying_histogram::DecayingHistogram;
use super::histogram_options::HistogramOptions;
use super::types::{
    CPU_SAMPLE_WEIGHT, ContainerUsageSample, MEMORY_PEAK_WEIGHT, Resource, Timestamp,
    bytes_from_memory_amount, cores_from_cpu_amount,
};

/// Something that takes usage samples: an aggregate, or a recorder in tests.
pub trait ContainerStateAggregator {
    /// Aggregates a sample.
    fn add_sample(&mut self, sample: &ContainerUsageSample);
    /// Removes a sample added before (memory peaks only).
    fn subtract_sample(&mut self, sample: &ContainerUsageSample);
}

/// Aggregated usage of all instances of one container.
#[derive(Clone, Debug)]
pub struct AggregateContainerState {
    /// CPU usage in cores.
    pub cpu_usage: DecayingHistogram,
    /// Memory peaks in bytes, one per container instance and aggregation interval.
    pub memory_peaks: DecayingHistogram,
    /// Start of the earliest CPU sample.
    pub first_sample_start: Option<Timestamp>,
    /// Start of the latest CPU sample.
    pub last_sample_start: Option<Timestamp>,
    /// Number of CPU samples.
    pub total_samples_count: u64,
    /// When this aggregate was created; bounds the life of one that never gets a sample.
    pub creation_time: Timestamp,
}

impl AggregateContainerState {
    /// An empty aggregate created at `now`.
    pub fn new(config: &AggregationsConfig, now: Timestamp) -> Self {
        Self {
            cpu_usage: DecayingHistogram::new(
                HistogramOptions::cpu(),
                config.cpu_histogram_decay_half_life,
            ),
            memory_peaks: DecayingHistogram::new(
                HistogramOptions::memory(),
                config.memory_histogram_decay_half_life,
            ),
            first_sample_start: None,
            last_sample_start: None,
            total_samples_count: 0,
            creation_time: now,
        }
    }

    /// Adds everything `other` aggregated (histograms, sample times and count).
    pub fn merge(&mut self, other: &AggregateContainerState) {
        self.cpu_usage.merge(&other.cpu_usage);
        self.memory_peaks.merge(&other.memory_peaks);
        if let Some(first) = other.first_sample_start
            && self.first_sample_start.is_none_or(|own| first < own)
        {
            self.first_sample_start = Some(first);
        }
        if other.last_sample_start > self.last_sample_start {
            self.last_sample_start = other.last_sample_start;
        }
        self.total_samples_count += other.total_samples_count;
    }

    /// Whether no CPU sample was ever aggregated.
    pub fn is_empty(&self) -> bool {
        self.total_samples_count == 0
    }

    /// Whether the aggregate should be dropped at `now`: no CPU sample for a whole memory window
    /// (8 days by default), or, when it never had one, created that long ago.
    pub fn is_expired(&self, now: Timestamp, config: &AggregationsConfig) -> bool {
        let since = match self.last_sample_start {
            Some(last) if !self.is_empty() => last,
            _ => self.creation_time,
        };
        now.saturating_sub(since) >= config.memory_aggregation_window_length()
    }

    /// Bytes owned on the heap (the histograms' bucket windows).
    pub fn heap_bytes(&self) -> usize {
        self.cpu_usage.heap_bytes() + self.memory_peaks.heap_bytes()
    }

    fn add_cpu_sample(&mut self, sample: &ContainerUsageSample) {
        let cores = cores_from_cpu_amount(sample.usage);
        self.cpu_usage
            .add_sample(cores, CPU_SAMPLE_WEIGHT, sample.measure_start);
        let start = Some(sample.measure_start);
        if start > self.last_sample_start {
            self.last_sample_start = start;
        }
        if self
            .first_sample_start
            .is_none_or(|first| sample.measure_start < first)
        {
            self.first_sample_start = start;
        }
        self.total_samples_count += 1;
    }
}

impl ContainerStateAggregator for AggregateContainerState {
    fn add_sample(&mut self, sample: &ContainerUsageSample) {
        match sample.resource {
            Resource::Cpu => self.add_cpu_sample(sample),
            Resource::Memory => self.memory_peaks.add_sample(
                bytes_from_memory_amount(sample.usage),
                MEMORY_PEAK_WEIGHT,
                sample.measure_start,
            ),
        }
    }

    /// Only memory peaks are ever subtracted; a CPU sample is ignored.
    fn subtract_sample(&mut self, sample: &ContainerUsageSample) {
        if sample.resource == Resource::Memory {
            self.memory_peaks.subtract_sample(
                bytes_from_memory_amount(sample.usage),
                MEMORY_PEAK_WEIGHT,
                sample.measure_start,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::types::DAY;

    const T0: Timestamp = 1_795_132_800;

    fn cpu(t: Timestamp, millicores: i64) -> ContainerUsageSample {
        ContainerUsageSample {
            measure_start: t,
            usage: millicores,
            resource: Resource::Cpu,
        }
    }

    #[test]
    fn cpu_samples_set_first_last_and_count() {
        let config = AggregationsConfig::default();
        let mut a = AggregateContainerState::new(&config, T0);
        a.add_sample(&cpu(T0 + 60, 500));
        a.add_sample(&cpu(T0, 500));
        a.add_sample(&cpu(T0 + 120, 500));
        assert_eq!(a.first_sample_start, Some(T0));
        assert_eq!(a.last_sample_start, Some(T0 + 120));
        assert_eq!(a.total_samples_count, 3);
        let weight = a.cpu_usage.histogram().total_weight();
        assert!((weight - 0.3).abs() < 1e-3, "{weight}");
    }

    #[test]
    fn merge_keeps_the_widest_sample_span() {
        let config = AggregationsConfig::default();
        let mut a = AggregateContainerState::new(&config, T0);
        let mut b = a.clone();
        a.add_sample(&cpu(T0 + DAY, 100));
        b.add_sample(&cpu(T0, 100));
        b.add_sample(&cpu(T0 + 2 * DAY, 100));
        let mut empty = AggregateContainerState::new(&config, T0);
        empty.merge(&a);
        empty.merge(&b);
        assert_eq!(empty.first_sample_start, Some(T0));
        assert_eq!(empty.last_sample_start, Some(T0 + 2 * DAY));
        assert_eq!(empty.total_samples_count, 3);
    }

    #[test]
    fn expiry_counts_from_the_last_sample_or_creation() {
        let config = AggregationsConfig::default();
        let mut a = AggregateContainerState::new(&config, T0);
        assert!(!a.is_expired(T0 + 8 * DAY - 1, &config));
        assert!(a.is_expired(T0 + 8 * DAY, &config));
        a.add_sample(&cpu(T0 + DAY, 100));
        assert!(!a.is_expired(T0 + 9 * DAY - 1, &config));
        assert!(a.is_expired(T0 + 9 * DAY, &config));
    }
}
