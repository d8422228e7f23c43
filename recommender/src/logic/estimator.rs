//! Composable resource estimators (pure), upstream's `logic/estimator.go`.
//!
//! An estimator maps an aggregate to one amount per resource. The base one reads percentiles of
//! the CPU and memory-peak histograms; wrappers add a safety margin, scale by a confidence
//! multiplier, or raise to a minimum. All arithmetic is upstream's: float results are truncated
//! to integer amounts and clamped to `[0, 1e14]` after every step.
//!
//! Confidence measures how much history an aggregate holds, in units of the confidence interval
//! (a day by default): `c = min(lifespan / interval, samples / interval_in_minutes)`, so a steady
//! stream of one sample a minute for N days gives `c = N`. A bound is scaled by
//! `(1 + multiplier / c)^exponent`: the upper bound (1, +1) by 2 after a day and 3 after 12 hours,
//! the lower bound (0.001, −2) by 0.6 after 5 minutes and 0.95 after an hour. With no history
//! (`c = 0`) the upper bound becomes the maximum amount and the lower bound 0.

use crate::model::{
    AggregateContainerState, GO_ZERO_TIME, ResourceAmount, Resources, Seconds,
    cpu_amount_from_cores, go_pow, memory_amount_from_bytes, scale_resource,
};

/// Predicts the resources a container needs from its aggregated history.
pub trait ResourceEstimator {
    /// The estimate for `state`.
    fn estimate(&self, state: &AggregateContainerState) -> Resources;
}

impl<E: ResourceEstimator + ?Sized> ResourceEstimator for &E {
    fn estimate(&self, state: &AggregateContainerState) -> Resources {
        (**self).estimate(state)
    }
}

/// Wrappers available on every estimator.
pub trait EstimatorExt: ResourceEstimator + Sized {
    /// Adds `fraction` of each amount (see [`MarginEstimator`]).
    fn with_margin(self, fraction: f64) -> MarginEstimator<Self> {
        MarginEstimator {
            margin_fraction: fraction,
            base: self,
        }
    }

    /// Scales by the confidence multiplier (see [`ConfidenceMultiplier`]).
    fn with_confidence_multiplier(
        self,
        multiplier: f64,
        exponent: f64,
        cpu_confidence_interval: Seconds,
        memory_confidence_interval: Seconds,
    ) -> ConfidenceMultiplier<Self> {
        ConfidenceMultiplier {
            multiplier,
            exponent,
            cpu_confidence_interval,
            memory_confidence_interval,
            base: self,
        }
    }

    /// Raises each amount to at least `min` (see [`MinResourcesEstimator`]).
    fn with_min_resources(self, min: Resources) -> MinResourcesEstimator<Self> {
        MinResourcesEstimator {
            min_resources: min,
            base: self,
        }
    }
}

impl<E: ResourceEstimator> EstimatorExt for E {}

/// Always the same amounts; for tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConstEstimator(pub Resources);

impl ResourceEstimator for ConstEstimator {
    fn estimate(&self, _: &AggregateContainerState) -> Resources {
        self.0
    }
}

/// Percentiles of the CPU usage and memory peak distributions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PercentileEstimator {
    /// CPU percentile, 0..=1.
    pub cpu_percentile: f64,
    /// Memory peak percentile, 0..=1.
    pub memory_percentile: f64,
}

impl ResourceEstimator for PercentileEstimator {
    fn estimate(&self, state: &AggregateContainerState) -> Resources {
        Resources {
            cpu: cpu_amount_from_cores(state.cpu_usage.percentile(self.cpu_percentile)),
            memory: memory_amount_from_bytes(state.memory_peaks.percentile(self.memory_percentile)),
        }
    }
}

/// The base estimate plus `margin_fraction` of it (truncated): `a + ⌊a × fraction⌋`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginEstimator<E> {
    /// Fraction added, e.g. 0.15.
    pub margin_fraction: f64,
    /// The estimate the margin is added to.
    pub base: E,
}

impl<E: ResourceEstimator> ResourceEstimator for MarginEstimator<E> {
    fn estimate(&self, state: &AggregateContainerState) -> Resources {
        self.base
            .estimate(state)
            .map(|_, amount| amount.saturating_add(scale_resource(amount, self.margin_fraction)))
    }
}

/// The base estimate scaled by `(1 + multiplier / confidence)^exponent`, with the confidence of
/// each resource measured against its own interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfidenceMultiplier<E> {
    /// Weight of the missing confidence.
    pub multiplier: f64,
    /// +1 widens an upper bound, −2 narrows a lower bound.
    pub exponent: f64,
    /// Confidence unit for CPU (`--confidence-interval-cpu`).
    pub cpu_confidence_interval: Seconds,
    /// Confidence unit for memory (`--confidence-interval-memory`).
    pub memory_confidence_interval: Seconds,
    /// The estimate being scaled.
    pub base: E,
}

impl<E: ResourceEstimator> ResourceEstimator for ConfidenceMultiplier<E> {
    fn estimate(&self, state: &AggregateContainerState) -> Resources {
        let base = self.base.estimate(state);
        let scale = |amount: ResourceAmount, interval: Seconds| {
            let factor = go_pow(
                1.0 + self.multiplier / confidence(state, interval),
                self.exponent,
            );
            scale_resource(amount, factor)
        };
        Resources {
            cpu: scale(base.cpu, self.cpu_confidence_interval),
            memory: scale(base.memory, self.memory_confidence_interval),
        }
    }
}

/// The base estimate raised to at least `min_resources`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinResourcesEstimator<E> {
    /// Lowest amounts returned.
    pub min_resources: Resources,
    /// The estimate being raised.
    pub base: E,
}

impl<E: ResourceEstimator> ResourceEstimator for MinResourcesEstimator<E> {
    fn estimate(&self, state: &AggregateContainerState) -> Resources {
        let min = self.min_resources;
        self.base
            .estimate(state)
            .map(|resource, amount| amount.max(min.get(resource)))
    }
}

/// How much history `state` holds, in units of `interval` (see the module documentation).
pub fn confidence(state: &AggregateContainerState, interval: Seconds) -> f64 {
    let first = state.first_sample_start.unwrap_or(GO_ZERO_TIME);
    let last = state.last_sample_start.unwrap_or(GO_ZERO_TIME);
    let lifespan = (last - first) as f64 / interval as f64;
    // Go's Duration.Minutes(): whole minutes plus the fraction of the rest.
    let minutes = (interval / 60) as f64 + (interval % 60) as f64 / 60.0;
    let samples = state.total_samples_count as f64 / minutes;
    lifespan.min(samples)
}

#[cfg(test)]
mod tests;
