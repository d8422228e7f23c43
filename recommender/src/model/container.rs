//! State of one running container instance (pure), upstream's `ContainerState`: deduplicates
//! CPU samples and turns memory samples and OOM kills into one memory peak per aggregation
//! interval, feeding a [`ContainerStateAggregator`].
//!
//! Memory windows: the first memory sample opens a window ending one interval (24h) after it.
//! While samples fall inside the window, only a new maximum changes the aggregate: the old peak
//! is subtracted and the new one added, both stamped with the window end. A sample at or after
//! the window end moves the window forward by whole intervals until it contains the sample, and
//! starts a new peak. So each instance contributes one peak per interval.
//!
//! OOM kills become an artificial memory sample of `max(used + min_bump, used × ratio)`, where
//! `used = max(memory at the kill, this window's usage peak)`; an earlier OOM estimate in the
//! same window is deliberately not used as the base, so repeated kills do not run away. A kill
//! more than one interval before the container's last memory sample is dropped as too old.

use super::aggregate::ContainerStateAggregator;
use super::config::AggregationsConfig;
use super::types::{
    ContainerUsageSample, Resource, ResourceAmount, Timestamp, memory_amount_from_bytes,
    scale_resource,
};

/// Why an OOM event was not recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OomError {
    /// The kill happened more than one memory aggregation interval before the container's last
    /// memory sample.
    #[error("OOM event at {0} is too old and was discarded")]
    TooOld(Timestamp),
}

/// Per-instance bookkeeping between samples and the aggregate they feed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerState {
    last_cpu_sample_start: Option<Timestamp>,
    last_memory_sample_start: Option<Timestamp>,
    /// Highest usage sample in the current window.
    memory_peak: ResourceAmount,
    /// Highest OOM estimate in the current window.
    oom_peak: ResourceAmount,
    /// End (exclusive) of the current memory window; `None` before the first memory sample.
    window_end: Option<Timestamp>,
}

impl ContainerState {
    /// A container that has seen no sample yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Start of the last CPU sample aggregated.
    pub fn last_cpu_sample_start(&self) -> Option<Timestamp> {
        self.last_cpu_sample_start
    }

    /// End of the current memory window.
    pub fn window_end(&self) -> Option<Timestamp> {
        self.window_end
    }

    /// The peak this instance currently contributes: the larger of usage and OOM estimate.
    pub fn max_memory_peak(&self) -> ResourceAmount {
        self.memory_peak.max(self.oom_peak)
    }

    /// Feeds a usage sample to `aggregator`. Returns false, changing nothing, for a negative
    /// usage, a CPU sample not strictly after the previous one, or a memory sample older than the
    /// previous one.
    pub fn add_sample(
        &mut self,
        sample: &ContainerUsageSample,
        aggregator: &mut impl ContainerStateAggregator,
        config: &AggregationsConfig,
    ) -> bool {
        match sample.resource {
            Resource::Cpu => self.add_cpu_sample(sample, aggregator),
            Resource::Memory => self.add_memory_sample(sample, false, aggregator, config),
        }
    }

    /// Records an OOM kill at `timestamp` of a container using `memory` bytes (its request, or
    /// the usage reported with the kill) as a bumped-up memory sample. Returns the sample's
    /// memory, bytes.
    pub fn record_oom(
        &mut self,
        timestamp: Timestamp,
        memory: ResourceAmount,
        aggregator: &mut impl ContainerStateAggregator,
        config: &AggregationsConfig,
    ) -> Result<ResourceAmount, OomError> {
        // Measured from the last memory sample, not from the window end: the end runs up to a
        // whole interval ahead of the samples and jumps by one when a sample crosses it, so an
        // OOM seconds before that crossing would count as an interval old (upstream #9725).
        if let Some(last) = self.last_memory_sample_start
            && timestamp < last.saturating_sub(config.memory_aggregation_interval)
        {
            return Err(OomError::TooOld(timestamp));
        }
        let used = memory.max(self.memory_peak);
        let needed = used
            .saturating_add(memory_amount_from_bytes(config.oom_min_bump_up_bytes))
            .max(scale_resource(used, config.oom_bump_up_ratio));
        let sample = ContainerUsageSample {
            measure_start: timestamp,
            usage: needed,
            resource: Resource::Memory,
        };
        // An OOM sample is never out of order and its usage is non-negative, so it is accepted.
        self.add_memory_sample(&sample, true, aggregator, config);
        Ok(needed)
    }

    fn add_cpu_sample(
        &mut self,
        sample: &ContainerUsageSample,
        aggregator: &mut impl ContainerStateAggregator,
    ) -> bool {
        if sample.usage < 0
            || self
                .last_cpu_sample_start
                .is_some_and(|last| sample.measure_start <= last)
        {
            return false;
        }
        aggregator.add_sample(sample);
        self.last_cpu_sample_start = Some(sample.measure_start);
        true
    }

    fn add_memory_sample(
        &mut self,
        sample: &ContainerUsageSample,
        is_oom: bool,
        aggregator: &mut impl ContainerStateAggregator,
        config: &AggregationsConfig,
    ) -> bool {
        let ts = sample.measure_start;
        if sample.usage < 0
            || (!is_oom && self.last_memory_sample_start.is_some_and(|last| ts < last))
        {
            return false;
        }
        self.last_memory_sample_start = Some(ts);
        let window_end = *self.window_end.get_or_insert(ts);
        let add_new_peak = if ts < window_end {
            let old_max = self.max_memory_peak();
            let replaces = old_max != 0 && sample.usage > old_max;
            if replaces {
                aggregator.subtract_sample(&peak(window_end, old_max));
            }
            replaces
        } else {
            let interval = config.memory_aggregation_interval;
            let elapsed = ts - window_end;
            self.window_end = Some(window_end + (elapsed - elapsed % interval) + interval);
            self.memory_peak = 0;
            self.oom_peak = 0;
            true
        };
        if add_new_peak {
            let window_end = self.window_end.unwrap_or(ts);
            aggregator.add_sample(&peak(window_end, sample.usage));
            if is_oom {
                self.oom_peak = sample.usage;
            } else {
                self.memory_peak = sample.usage;
            }
        }
        true
    }
}

fn peak(window_end: Timestamp, usage: ResourceAmount) -> ContainerUsageSample {
    ContainerUsageSample {
        measure_start: window_end,
        usage,
        resource: Resource::Memory,
    }
}

#[cfg(test)]
mod tests;
