//! The recommendation for each container of a workload (pure), upstream's
//! `logic/recommender.go`.
//!
//! ```text
//! target     = max(P90 × 1.15,                          podMin / N)
//! lowerBound = max(P50 × 1.15 × (1 + 0.001/c)^-2,       podMin / N)
//! upperBound = max(P95 × 1.15 × (1 + 1/c),              podMin / N)
//! ```
//!
//! with CPU from the CPU usage histogram and memory from the memory-peak histogram, `c` the
//! confidence (see [`super::estimator`]), and the per-pod minimum (25 mCPU, 250 MiB) split
//! equally across the `N` containers being recommended. Capping to policies and limits happens
//! later, in `vpa_common`; `uncapped_target` is the target as computed here.

use vpa_common::api::ResourceList;
use vpa_common::resources::Amounts;

use super::estimator::{
    ConfidenceMultiplier, EstimatorExt, MarginEstimator, PercentileEstimator, ResourceEstimator,
};
use crate::model::{
    AggregateContainerState, DAY, Resource, ResourceAmount, Resources, Seconds,
    cpu_amount_from_cores, memory_amount_from_bytes, scale_resource,
};

/// Estimation settings, with upstream's flag defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RecommenderConfig {
    /// `--recommendation-margin-fraction` (0.15).
    pub safety_margin_fraction: f64,
    /// `--pod-recommendation-min-cpu-millicores` (25).
    pub pod_min_cpu_millicores: f64,
    /// `--pod-recommendation-min-memory-mb` (250, in MiB).
    pub pod_min_memory_mb: f64,
    /// `--target-cpu-percentile` (0.9).
    pub target_cpu_percentile: f64,
    /// `--target-memory-percentile` (0.9).
    pub target_memory_percentile: f64,
    /// `--recommendation-lower-bound-cpu-percentile` (0.5).
    pub lower_bound_cpu_percentile: f64,
    /// `--recommendation-lower-bound-memory-percentile` (0.5).
    pub lower_bound_memory_percentile: f64,
    /// `--recommendation-upper-bound-cpu-percentile` (0.95).
    pub upper_bound_cpu_percentile: f64,
    /// `--recommendation-upper-bound-memory-percentile` (0.95).
    pub upper_bound_memory_percentile: f64,
    /// `--confidence-interval-cpu` (24h).
    pub confidence_interval_cpu: Seconds,
    /// `--confidence-interval-memory` (24h).
    pub confidence_interval_memory: Seconds,
}

impl Default for RecommenderConfig {
    fn default() -> Self {
        Self {
            safety_margin_fraction: 0.15,
            pod_min_cpu_millicores: 25.0,
            pod_min_memory_mb: 250.0,
            target_cpu_percentile: 0.9,
            target_memory_percentile: 0.9,
            lower_bound_cpu_percentile: 0.5,
            lower_bound_memory_percentile: 0.5,
            upper_bound_cpu_percentile: 0.95,
            upper_bound_memory_percentile: 0.95,
            confidence_interval_cpu: DAY,
            confidence_interval_memory: DAY,
        }
    }
}

/// Which resources a container's recommendation includes (its policy's `controlledResources`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlledResources {
    /// Recommend CPU.
    pub cpu: bool,
    /// Recommend memory.
    pub memory: bool,
}

impl Default for ControlledResources {
    /// Both, as upstream's default `[cpu, memory]`.
    fn default() -> Self {
        Self {
            cpu: true,
            memory: true,
        }
    }
}

impl ControlledResources {
    /// From resource names; names other than `cpu` and `memory` are ignored.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        let mut controlled = Self {
            cpu: false,
            memory: false,
        };
        for name in names {
            match name.as_ref() {
                "cpu" => controlled.cpu = true,
                "memory" => controlled.memory = true,
                _ => {}
            }
        }
        controlled
    }

    fn filter(self, amounts: Resources) -> RecommendedResources {
        RecommendedResources {
            cpu: self.cpu.then_some(amounts.cpu),
            memory: self.memory.then_some(amounts.memory),
        }
    }
}

/// Recommended amounts; a resource the container does not control is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecommendedResources {
    /// Millicores.
    pub cpu: Option<ResourceAmount>,
    /// Bytes.
    pub memory: Option<ResourceAmount>,
}

impl RecommendedResources {
    /// The amount of `resource`, if recommended.
    pub fn get(&self, resource: Resource) -> Option<ResourceAmount> {
        match resource {
            Resource::Cpu => self.cpu,
            Resource::Memory => self.memory,
        }
    }

    /// As `vpa_common` integer amounts keyed by resource name.
    pub fn to_amounts(&self) -> Amounts {
        [Resource::Cpu, Resource::Memory]
            .into_iter()
            .filter_map(|r| Some((r.name().to_owned(), self.get(r)?)))
            .collect()
    }

    /// As a Kubernetes ResourceList (CPU in millicores, memory in bytes).
    pub fn to_resource_list(&self) -> ResourceList {
        vpa_common::resources::resource_list(&self.to_amounts())
    }
}

/// One container to recommend for.
#[derive(Clone, Copy, Debug)]
pub struct ContainerInput<'a> {
    /// Container name.
    pub name: &'a str,
    /// Its aggregated history.
    pub state: &'a AggregateContainerState,
    /// Resources its policy controls.
    pub controlled: ControlledResources,
}

/// The recommendation for one container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerRecommendation<'a> {
    /// Container name.
    pub name: &'a str,
    /// Recommended request.
    pub target: RecommendedResources,
    /// Below this the container is under-provisioned.
    pub lower_bound: RecommendedResources,
    /// Above this the container is over-provisioned.
    pub upper_bound: RecommendedResources,
    /// The target before any capping; equal to `target` when it leaves the engine.
    pub uncapped_target: RecommendedResources,
}

/// The default target estimator: percentile plus margin.
pub type TargetEstimator = MarginEstimator<PercentileEstimator>;
/// The default bound estimators: percentile plus margin, scaled by confidence.
pub type BoundEstimator = ConfidenceMultiplier<MarginEstimator<PercentileEstimator>>;

/// Computes recommendations with three estimators and the per-pod minimum.
#[derive(Clone, Debug)]
pub struct PodResourceRecommender<T = TargetEstimator, L = BoundEstimator, U = BoundEstimator> {
    /// Estimates the target.
    pub target: T,
    /// Estimates the lower bound.
    pub lower_bound: L,
    /// Estimates the upper bound.
    pub upper_bound: U,
    /// Minimum CPU per pod, in millicores.
    pub pod_min_cpu_millicores: f64,
    /// Minimum memory per pod, in MiB.
    pub pod_min_memory_mb: f64,
}

impl PodResourceRecommender {
    /// Upstream's estimator pipeline configured by `config`.
    pub fn new(config: &RecommenderConfig) -> Self {
        let percentile = |cpu_percentile, memory_percentile| {
            PercentileEstimator {
                cpu_percentile,
                memory_percentile,
            }
            .with_margin(config.safety_margin_fraction)
        };
        let (cpu_interval, memory_interval) = (
            config.confidence_interval_cpu,
            config.confidence_interval_memory,
        );
        Self {
            target: percentile(
                config.target_cpu_percentile,
                config.target_memory_percentile,
            ),
            lower_bound: percentile(
                config.lower_bound_cpu_percentile,
                config.lower_bound_memory_percentile,
            )
            .with_confidence_multiplier(0.001, -2.0, cpu_interval, memory_interval),
            upper_bound: percentile(
                config.upper_bound_cpu_percentile,
                config.upper_bound_memory_percentile,
            )
            .with_confidence_multiplier(1.0, 1.0, cpu_interval, memory_interval),
            pod_min_cpu_millicores: config.pod_min_cpu_millicores,
            pod_min_memory_mb: config.pod_min_memory_mb,
        }
    }
}

impl<T: ResourceEstimator, L: ResourceEstimator, U: ResourceEstimator>
    PodResourceRecommender<T, L, U>
{
    /// Recommends for the containers of one workload (one VPA), in input order. Containers
    /// whose aggregate has no CPU sample are skipped, as upstream's recommender loop skips them,
    /// and the pod minimum is split across the others. Callers leave out containers whose
    /// policy mode is `Off`.
    pub fn recommend<'a>(
        &self,
        containers: &[ContainerInput<'a>],
    ) -> Vec<ContainerRecommendation<'a>> {
        let count = containers.iter().filter(|c| !c.state.is_empty()).count();
        if count == 0 {
            return Vec::new();
        }
        let min = self.min_resources(count);
        containers
            .iter()
            .filter(|c| !c.state.is_empty())
            .map(|c| {
                let estimate = |e: &dyn ResourceEstimator| {
                    let amounts = e.estimate(c.state).map(|r, a| a.max(min.get(r)));
                    c.controlled.filter(amounts)
                };
                let target = estimate(&self.target);
                ContainerRecommendation {
                    name: c.name,
                    target,
                    lower_bound: estimate(&self.lower_bound),
                    upper_bound: estimate(&self.upper_bound),
                    uncapped_target: target,
                }
            })
            .collect()
    }

    /// The per-container share of the pod minimum when `containers` containers split it.
    pub fn min_resources(&self, containers: usize) -> Resources {
        let fraction = 1.0 / containers as f64;
        Resources {
            cpu: scale_resource(
                cpu_amount_from_cores(self.pod_min_cpu_millicores * 0.001),
                fraction,
            ),
            memory: scale_resource(
                memory_amount_from_bytes(self.pod_min_memory_mb * 1024.0 * 1024.0),
                fraction,
            ),
        }
    }
}

#[cfg(test)]
mod tests;
