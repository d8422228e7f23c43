//! Upstream's recommendation quality metrics (`vpa_quality_*`, pkg/utils/metrics/quality): names,
//! labels and buckets as upstream, fed with [`QualitySample`]s and [`RecommendationChange`]s.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use vpa_common::metrics::UnsuffixedCounters;

use crate::model::Resource;
use crate::routines::quality::{QualitySample, RecommendationChange};

/// Relative buckets, from −100 % to ×100, as upstream.
const RELATIVE_BUCKETS: [f64; 29] = [
    -1.0, -0.75, -0.5, -0.25, -0.1, -0.05, -0.025, -0.01, -0.005, -0.0025, -0.001, 0.0, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0,
];

/// 0.01 to 655.36 cores.
fn cpu_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 17))
}

/// 1 MB to 65.5 GB.
fn memory_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1e6, 2.0, 17))
}

fn relative_histogram() -> Histogram {
    Histogram::new(RELATIVE_BUCKETS)
}

/// `{update_mode, resource, is_oom}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ModeResourceOom {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `cpu` or `memory`.
    pub resource: String,
    /// `true` for OOM samples.
    pub is_oom: String,
}

/// `{update_mode, recommendation_missing}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeMissing {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `true` when there was no recommendation to compare with.
    pub recommendation_missing: String,
}

/// `{update_mode, recommendation_missing, is_oom}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeMissingOom {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `true` when there was no recommendation to compare with.
    pub recommendation_missing: String,
    /// `true` for OOM samples.
    pub is_oom: String,
}

/// `{update_mode}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Mode {
    /// The VPA's update mode.
    pub update_mode: String,
}

/// `{update_mode, is_oom}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeOom {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `true` for OOM samples.
    pub is_oom: String,
}

/// `{update_mode, resource, vpa_size_log2}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeResourceSize {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `cpu` or `memory`.
    pub resource: String,
    /// floor(log2(pods of the VPA)).
    pub vpa_size_log2: u32,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The `vpa_quality_*` metrics.
#[derive(Debug)]
pub struct QualityMetrics {
    /// (usage − recommendation) / recommendation.
    pub usage_recommendation_relative_diffs: Histograms<ModeResourceOom>,
    /// Samples of containers whose recommendation is missing.
    pub usage_sample_missing_recommendation: Arc<UnsuffixedCounters<ModeResourceOom>>,
    /// |usage − recommendation| for CPU when the recommendation is above the usage, cores.
    pub cpu_recommendation_over_usage_diffs: Histograms<ModeMissing>,
    /// Same for memory, bytes.
    pub mem_recommendation_over_usage_diffs: Histograms<ModeMissingOom>,
    /// |usage − recommendation| for CPU when the recommendation is at or below the usage.
    pub cpu_recommendation_lower_equal_usage_diffs: Histograms<ModeMissing>,
    /// Same for memory, bytes.
    pub mem_recommendation_lower_equal_usage_diffs: Histograms<ModeMissingOom>,
    /// CPU recommendations seen with samples, cores.
    pub cpu_recommendations: Histograms<Mode>,
    /// Memory recommendations seen with samples, bytes.
    pub mem_recommendations: Histograms<ModeOom>,
    /// new / old − 1 of consecutive recommendations.
    pub relative_recommendation_changes: Histograms<ModeResourceSize>,
}

impl Default for QualityMetrics {
    fn default() -> Self {
        Self {
            usage_recommendation_relative_diffs: Family::new_with_constructor(relative_histogram),
            usage_sample_missing_recommendation: Arc::new(UnsuffixedCounters::new(
                "usage_sample_missing_recommendation_count",
                "Count of usage samples when a recommendation should be present but is missing",
            )),
            cpu_recommendation_over_usage_diffs: Family::new_with_constructor(cpu_histogram),
            mem_recommendation_over_usage_diffs: Family::new_with_constructor(memory_histogram),
            cpu_recommendation_lower_equal_usage_diffs: Family::new_with_constructor(cpu_histogram),
            mem_recommendation_lower_equal_usage_diffs: Family::new_with_constructor(
                memory_histogram,
            ),
            cpu_recommendations: Family::new_with_constructor(cpu_histogram),
            mem_recommendations: Family::new_with_constructor(memory_histogram),
            relative_recommendation_changes: Family::new_with_constructor(relative_histogram),
        }
    }
}

fn flag(value: bool) -> String {
    value.to_string()
}

impl QualityMetrics {
    /// Registers every metric under the `vpa_quality_` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("vpa_quality");
        r.register(
            "usage_recommendation_relative_diffs",
            "Diffs between recommendation and usage, normalized by recommendation value",
            self.usage_recommendation_relative_diffs.clone(),
        );
        r.register_collector(Box::new(self.usage_sample_missing_recommendation.clone()));
        r.register(
            "cpu_recommendation_over_usage_diffs_cores",
            "Absolute diffs between recommendation and usage for CPU when recommendation > usage",
            self.cpu_recommendation_over_usage_diffs.clone(),
        );
        r.register(
            "mem_recommendation_over_usage_diffs_bytes",
            "Absolute diffs between recommendation and usage for memory when recommendation > usage",
            self.mem_recommendation_over_usage_diffs.clone(),
        );
        r.register(
            "cpu_recommendation_lower_equal_usage_diffs_cores",
            "Absolute diffs between recommendation and usage for CPU when recommendation <= usage",
            self.cpu_recommendation_lower_equal_usage_diffs.clone(),
        );
        r.register(
            "mem_recommendation_lower_equal_usage_diffs_bytes",
            "Absolute diffs between recommendation and usage for memory when recommendation <= usage",
            self.mem_recommendation_lower_equal_usage_diffs.clone(),
        );
        r.register(
            "cpu_recommendations_cores",
            "CPU recommendation values as observed on recorded usage sample",
            self.cpu_recommendations.clone(),
        );
        r.register(
            "mem_recommendations_bytes",
            "Memory recommendation values as observed on recorded usage sample",
            self.mem_recommendations.clone(),
        );
        r.register(
            "relative_recommendation_changes",
            "Changes between consecutive recommendation values, normalized by old value",
            self.relative_recommendation_changes.clone(),
        );
    }

    /// Records one usage sample against its recommendation, as upstream's
    /// `ObserveQualityMetrics` (recommendation present) and
    /// `ObserveQualityMetricsRecommendationMissing` (absent: compared with 0).
    pub fn observe_sample(&self, sample: QualitySample<'_>) {
        let mode = sample.update_mode.to_owned();
        let is_oom = flag(sample.is_oom);
        let resource = sample.resource.name().to_owned();
        let missing = sample.recommendation.is_none();
        let recommendation = sample.recommendation.unwrap_or(0.0);
        if missing {
            self.usage_sample_missing_recommendation
                .inc(&ModeResourceOom {
                    update_mode: mode.clone(),
                    resource: resource.clone(),
                    is_oom: is_oom.clone(),
                });
        } else {
            match sample.resource {
                Resource::Cpu => self
                    .cpu_recommendations
                    .get_or_create(&Mode {
                        update_mode: mode.clone(),
                    })
                    .observe(recommendation),
                Resource::Memory => self
                    .mem_recommendations
                    .get_or_create(&ModeOom {
                        update_mode: mode.clone(),
                        is_oom: is_oom.clone(),
                    })
                    .observe(recommendation),
            }
        }
        let diff = (sample.usage - recommendation).abs();
        let over = recommendation > sample.usage;
        match sample.resource {
            Resource::Cpu => {
                let labels = ModeMissing {
                    update_mode: mode.clone(),
                    recommendation_missing: flag(missing),
                };
                let family = if over {
                    &self.cpu_recommendation_over_usage_diffs
                } else {
                    &self.cpu_recommendation_lower_equal_usage_diffs
                };
                family.get_or_create(&labels).observe(diff);
            }
            Resource::Memory => {
                let labels = ModeMissingOom {
                    update_mode: mode.clone(),
                    recommendation_missing: flag(missing),
                    is_oom: is_oom.clone(),
                };
                let family = if over {
                    &self.mem_recommendation_over_usage_diffs
                } else {
                    &self.mem_recommendation_lower_equal_usage_diffs
                };
                family.get_or_create(&labels).observe(diff);
            }
        }
        if !missing && recommendation > 0.0 {
            self.usage_recommendation_relative_diffs
                .get_or_create(&ModeResourceOom {
                    update_mode: mode,
                    resource,
                    is_oom,
                })
                .observe((sample.usage - recommendation) / recommendation);
        }
    }

    /// Records one recommendation change.
    pub fn observe_change(&self, change: &RecommendationChange) {
        self.relative_recommendation_changes
            .get_or_create(&ModeResourceSize {
                update_mode: change.update_mode.to_string(),
                resource: change.resource.to_owned(),
                vpa_size_log2: change.vpa_size_log2,
            })
            .observe(change.relative);
    }
}
