//! Conversion between aggregates and `VerticalPodAutoscalerCheckpoint` status (pure).
//!
//! The format is upstream's `v3`, so checkpoints move between upstream VPA and ours in both
//! directions: per histogram the bucket weights scaled so the heaviest is 10000 (rounded half-up,
//! zeros dropped), the unscaled total weight and the decay reference timestamp; plus first/last
//! sample start and the CPU sample count. Timestamps are whole seconds; Go's zero time (a
//! histogram or aggregate that never saw a sample) is written as `null`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff;
use vpa_common::api::{
    CHECKPOINT_VERSION, HistogramCheckpoint, VerticalPodAutoscalerCheckpointStatus,
};

use crate::model::{
    AggregateContainerState, AggregationsConfig, ContainerState, ContainerStateAggregator,
    ContainerUsageSample, DecayingHistogram, GO_ZERO_TIME, HistogramLoadError, Resource, Timestamp,
};

/// A checkpoint that cannot be restored.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    /// The version is not `v3` (upstream skips such checkpoints too).
    #[error("unsupported checkpoint version {0:?}")]
    UnsupportedVersion(Option<String>),
    /// The CPU histogram is invalid.
    #[error("CPU histogram: {0}")]
    Cpu(#[source] HistogramLoadError),
    /// The memory histogram is invalid.
    #[error("memory histogram: {0}")]
    Memory(#[source] HistogramLoadError),
    /// The sample count is negative.
    #[error("negative totalSamplesCount {0}")]
    NegativeSampleCount(i64),
}

/// The checkpoint status of `state`, written at `now`.
pub fn save(
    state: &AggregateContainerState,
    now: Timestamp,
) -> VerticalPodAutoscalerCheckpointStatus {
    VerticalPodAutoscalerCheckpointStatus {
        last_update_time: to_time(now),
        version: Some(CHECKPOINT_VERSION.to_owned()),
        cpu_histogram: Some(save_histogram(&state.cpu_usage)),
        memory_histogram: Some(save_histogram(&state.memory_peaks)),
        first_sample_start: state.first_sample_start.and_then(to_time),
        last_sample_start: state.last_sample_start.and_then(to_time),
        total_samples_count: Some(i64::try_from(state.total_samples_count).unwrap_or(i64::MAX)),
    }
}

/// Like [`save`], but without the memory peaks of the windows still open at `now` in `live`
/// (the instances feeding `state`): those instances add their peak again after a restore, and
/// upstream leaves them out for the same reason.
pub fn save_closed_windows<'a>(
    state: &AggregateContainerState,
    live: impl IntoIterator<Item = &'a ContainerState>,
    now: Timestamp,
) -> VerticalPodAutoscalerCheckpointStatus {
    let mut state = state.clone();
    for container in live {
        if let Some(window_end) = container.window_end()
            && now < window_end
        {
            state.subtract_sample(&ContainerUsageSample {
                measure_start: window_end,
                usage: container.max_memory_peak(),
                resource: Resource::Memory,
            });
        }
    }
    save(&state, now)
}

/// Restores an aggregate from a checkpoint status; `now` becomes its creation time. Missing
/// histograms or counts restore as empty, as upstream's zero values.
pub fn load(
    status: &VerticalPodAutoscalerCheckpointStatus,
    config: &AggregationsConfig,
    now: Timestamp,
) -> Result<AggregateContainerState, CheckpointError> {
    if status.version.as_deref() != Some(CHECKPOINT_VERSION) {
        return Err(CheckpointError::UnsupportedVersion(status.version.clone()));
    }
    let count = status.total_samples_count.unwrap_or(0);
    let mut state = AggregateContainerState::new(config, now);
    state.total_samples_count =
        u64::try_from(count).map_err(|_| CheckpointError::NegativeSampleCount(count))?;
    state.first_sample_start = from_time(status.first_sample_start.as_ref());
    state.last_sample_start = from_time(status.last_sample_start.as_ref());
    if let Some(memory) = &status.memory_histogram {
        load_histogram(&mut state.memory_peaks, memory).map_err(CheckpointError::Memory)?;
    }
    if let Some(cpu) = &status.cpu_histogram {
        load_histogram(&mut state.cpu_usage, cpu).map_err(CheckpointError::Cpu)?;
    }
    Ok(state)
}

/// One histogram in checkpoint form.
pub fn save_histogram(histogram: &DecayingHistogram) -> HistogramCheckpoint {
    let (buckets, total_weight, reference) = histogram.save();
    HistogramCheckpoint {
        reference_timestamp: to_time(reference),
        bucket_weights: (!buckets.is_empty()).then_some(buckets),
        total_weight: Some(total_weight),
    }
}

/// Adds a checkpointed histogram to `histogram`.
pub fn load_histogram(
    histogram: &mut DecayingHistogram,
    checkpoint: &HistogramCheckpoint,
) -> Result<(), HistogramLoadError> {
    let reference = from_time(checkpoint.reference_timestamp.as_ref()).unwrap_or(GO_ZERO_TIME);
    histogram.load(
        checkpoint
            .bucket_weights
            .as_ref()
            .unwrap_or(&Default::default()),
        checkpoint.total_weight.unwrap_or(0.0),
        reference,
    )
}

/// A timestamp as API time; Go's zero time (and anything unrepresentable) is `None`.
pub fn to_time(timestamp: Timestamp) -> Option<Time> {
    if timestamp == GO_ZERO_TIME {
        return None;
    }
    jiff::Timestamp::from_second(timestamp).ok().map(Time)
}

/// API time as a timestamp, rounded down to whole seconds; `None` and Go's zero time stay unset.
pub fn from_time(time: Option<&Time>) -> Option<Timestamp> {
    let time = time?.0;
    // jiff keeps the fraction's sign equal to the seconds'; step down for times before 1970.
    let seconds = time.as_second() - i64::from(time.subsec_nanosecond() < 0);
    (seconds != GO_ZERO_TIME).then_some(seconds)
}

#[cfg(test)]
mod tests;
