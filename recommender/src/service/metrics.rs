//! Prometheus metrics of the recommender (`vpa_recommender_*`, upstream's names where they
//! exist), registered in an explicit registry. A loop fills a [`LoopObservations`] chunk by
//! chunk and [`Metrics::publish`] replaces the per-VPA gauges with it at the loop's end, so the
//! series of VPAs and containers that are gone disappear.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use vpa_common::resources::{CPU, MEMORY};

use super::client_metrics::ClientMetrics;
use super::quality::QualityMetrics;
use crate::routines::plan::VpaPlan;

/// Loop steps timed by `execution_latency_seconds`, as upstream.
pub mod step {
    /// Reading VPAs and resolving their targets.
    pub const LOAD_VPAS: &str = "LoadVPAs";
    /// Reading pods.
    pub const LOAD_PODS: &str = "LoadPods";
    /// Listing PodMetrics and feeding samples and OOM kills.
    pub const LOAD_METRICS: &str = "LoadMetrics";
    /// Computing and writing recommendations.
    pub const UPDATE_VPAS: &str = "UpdateVPAs";
    /// Writing (and garbage-collecting) checkpoints.
    pub const MAINTAIN_CHECKPOINTS: &str = "MaintainCheckpoints";
    /// Dropping expired aggregates.
    pub const GARBAGE_COLLECT: &str = "GarbageCollect";
    /// The whole loop.
    pub const TOTAL: &str = "total";
}

/// `{step}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabel {
    /// One of [`step`].
    pub step: String,
}

/// Upstream's `{update_mode, has_recommendation, api, matches_pods, unsupported_config}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VpaLabels {
    /// The VPA's update mode.
    pub update_mode: String,
    /// `true` when a recommendation is written.
    pub has_recommendation: String,
    /// API version (`v1`).
    pub api: String,
    /// `true` when some pod matches.
    pub matches_pods: String,
    /// `true` when the target cannot be served.
    pub unsupported_config: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

const BOUNDS: [&str; 4] = ["target", "lowerBound", "upperBound", "uncappedTarget"];
const RESOURCES: [&str; 2] = [CPU, MEMORY];

/// One container's recommendation as exported: for each bound of [`BOUNDS`], CPU in cores and
/// memory in bytes (`NaN` where the recommendation has no value).
#[derive(Clone, Debug)]
pub struct RecommendationRow {
    /// VPA namespace.
    pub namespace: String,
    /// VPA name.
    pub vpa: String,
    /// Container name.
    pub container: String,
    /// `[bound][resource]`, in [`BOUNDS`] and [`RESOURCES`] order.
    pub values: [[f64; 2]; 4],
}

/// `vpa_recommender_recommendation{namespace, vpa, container, resource, bound}`, encoded from
/// a table of rows at scrape time. A `Family` of gauges kept 160,000 label sets of five strings
/// at 10k VPAs (about 40 MiB); a row of eight numbers per container is a tenth of that.
#[derive(Debug, Default)]
pub struct RecommendationGauges {
    rows: RwLock<Vec<RecommendationRow>>,
}

impl RecommendationGauges {
    /// Replaces every row.
    pub fn replace(&self, rows: Vec<RecommendationRow>) {
        *self.rows.write().unwrap_or_else(|e| e.into_inner()) = rows;
    }

    /// How many rows (containers) there are.
    pub fn row_count(&self) -> usize {
        self.rows.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Collector for RecommendationGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let rows = self.rows.read().unwrap_or_else(|e| e.into_inner());
        if rows.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "recommendation",
            "Recommended resources per container (cores for cpu, bytes for memory)",
            None,
            MetricType::Gauge,
        )?;
        for row in rows.iter() {
            for (bound, values) in BOUNDS.iter().zip(&row.values) {
                for (resource, value) in RESOURCES.iter().zip(values) {
                    if value.is_nan() {
                        continue;
                    }
                    let labels = [
                        ("namespace", row.namespace.as_str()),
                        ("vpa", row.vpa.as_str()),
                        ("container", row.container.as_str()),
                        ("resource", resource),
                        ("bound", bound),
                    ];
                    family.encode_family(&labels)?.encode_gauge(value)?;
                }
            }
        }
        Ok(())
    }
}

/// What one loop learned for the per-VPA metrics, gathered chunk by chunk.
#[derive(Debug, Default)]
pub struct LoopObservations {
    rows: Vec<RecommendationRow>,
    counts: std::collections::HashMap<VpaLabels, i64>,
}

impl LoopObservations {
    /// Observations with room for `rows` containers: sized like the last loop's, the rows are
    /// not grown by doubling (which held up to twice their 4 MiB at 10k VPAs, beside the last
    /// loop's rows still served).
    pub fn with_rows(rows: usize) -> Self {
        Self {
            rows: Vec::with_capacity(rows),
            counts: Default::default(),
        }
    }

    /// Adds one planned VPA with its update mode.
    pub fn add(&mut self, plan: &VpaPlan, mode: &str) {
        let labels = VpaLabels {
            update_mode: mode.to_owned(),
            has_recommendation: (!plan.recommendations.is_empty()).to_string(),
            api: "v1".into(),
            matches_pods: (plan.matched_pods > 0).to_string(),
            unsupported_config: plan.unsupported.to_string(),
        };
        *self.counts.entry(labels).or_default() += 1;
        for rec in &plan.recommendations {
            let mut values = [[f64::NAN; 2]; 4];
            let bounds = [
                &rec.target,
                &rec.lower_bound,
                &rec.upper_bound,
                &rec.uncapped_target,
            ];
            for (row, amounts) in values.iter_mut().zip(bounds) {
                if let Some(millicores) = amounts.get(CPU) {
                    row[0] = *millicores as f64 / 1000.0;
                }
                if let Some(bytes) = amounts.get(MEMORY) {
                    row[1] = *bytes as f64;
                }
            }
            self.rows.push(RecommendationRow {
                namespace: plan.namespace.clone(),
                vpa: plan.name.clone(),
                container: rec.container_name.clone(),
                values,
            });
        }
    }
}

/// All recommender metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Duration of each loop step, seconds.
    pub execution_latency: Family<StepLabel, Histogram, fn() -> Histogram>,
    /// Time from VPA creation to its first recommendation, seconds.
    pub recommendation_latency: Histogram,
    /// Aggregates in the model.
    pub aggregate_container_states: Gauge,
    /// Handled VPAs by kind of state.
    pub vpa_objects: Family<VpaLabels, Gauge>,
    /// Unix time of the end of the last loop, seconds.
    pub last_loop_timestamp: FloatGauge,
    /// Recommended values: cores for CPU, bytes for memory.
    pub recommendation: Arc<RecommendationGauges>,
    /// metrics-server and Prometheus requests.
    pub clients: ClientMetrics,
    /// `vpa_quality_*`.
    pub quality: QualityMetrics,
    /// The VPA label sets with series, to drop those that are gone.
    vpa_series: Mutex<HashSet<VpaLabels>>,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 9 min.
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            execution_latency: Family::new_with_constructor(latency_histogram),
            recommendation_latency: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            aggregate_container_states: Gauge::default(),
            vpa_objects: Family::default(),
            last_loop_timestamp: FloatGauge::default(),
            recommendation: Arc::default(),
            clients: ClientMetrics::default(),
            quality: QualityMetrics::default(),
            vpa_series: Mutex::default(),
        }
    }
}

impl Metrics {
    /// Registers every metric under the `vpa_recommender_` prefix, and the quality metrics under
    /// `vpa_quality_`.
    pub fn register(&self, registry: &mut Registry) {
        self.quality.register(registry);
        let r = registry.sub_registry_with_prefix("vpa_recommender");
        self.clients.register(r);
        r.register(
            "execution_latency_seconds",
            "Time spent in each step of the recommender loop",
            self.execution_latency.clone(),
        );
        r.register(
            "recommendation_latency_seconds",
            "Time from VPA creation to its first recommendation",
            self.recommendation_latency.clone(),
        );
        r.register(
            "aggregate_container_states_count",
            "Number of aggregate container states in the model",
            self.aggregate_container_states.clone(),
        );
        r.register(
            "vpa_objects_count",
            "Number of VPA objects handled by this recommender",
            self.vpa_objects.clone(),
        );
        r.register(
            "last_loop_timestamp_seconds",
            "Unix time at which the last recommender loop finished",
            self.last_loop_timestamp.clone(),
        );
        r.register_collector(Box::new(self.recommendation.clone()));
    }

    /// Records how long `step` took (upstream's loop steps, see [`step`]).
    pub fn observe_step(&self, step: &str, seconds: f64) {
        self.execution_latency
            .get_or_create(&StepLabel { step: step.into() })
            .observe(seconds);
    }

    /// Replaces the per-VPA gauges with a loop's observations (series of VPAs and containers
    /// that are gone disappear).
    pub fn publish(&self, observed: LoopObservations) {
        self.recommendation.replace(observed.rows);
        for (labels, count) in &observed.counts {
            self.vpa_objects.get_or_create(labels).set(*count);
        }
        let mut series = self.vpa_series.lock().unwrap_or_else(|e| e.into_inner());
        let now: HashSet<VpaLabels> = observed.counts.into_keys().collect();
        for gone in series.difference(&now) {
            self.vpa_objects.remove(gone);
        }
        *series = now;
    }
}

impl crate::input::prometheus_history::RequestObserver for Metrics {
    fn answered(&self, code: u16, method: &'static str, seconds: f64) {
        self.clients.answered(code, method, seconds);
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::api::VerticalPodAutoscalerStatus;
    use vpa_common::capping::ContainerRecommendation;

    use super::*;

    fn plan(name: &str, cpu: i64) -> VpaPlan {
        VpaPlan {
            namespace: "ns".into(),
            name: name.into(),
            status: VerticalPodAutoscalerStatus::default(),
            write: false,
            first_recommendation: false,
            recommendations: vec![ContainerRecommendation::new(
                "app",
                [(CPU.to_string(), cpu), (MEMORY.to_string(), 1 << 20)].into(),
            )],
            matched_pods: 1,
            unsupported: false,
            aggregates: vec![],
        }
    }

    fn encode(metrics: &Metrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn recommendations_are_exported_in_cores_and_bytes_and_vanish_with_their_vpa() {
        let metrics = Metrics::default();
        let (a, b) = (plan("a", 587), plan("b", 1000));
        let observe = |plans: &[(&VpaPlan, &str)]| {
            let mut observed = LoopObservations::default();
            for (plan, mode) in plans {
                observed.add(plan, mode);
            }
            metrics.publish(observed);
        };
        observe(&[(&a, "Recreate"), (&b, "Off")]);
        let text = encode(&metrics);
        assert!(text.contains(
            r#"vpa_recommender_recommendation{namespace="ns",vpa="a",container="app",resource="cpu",bound="target"} 0.587"#
        ), "{text}");
        assert!(text.contains(
            r#"vpa_recommender_recommendation{namespace="ns",vpa="b",container="app",resource="memory",bound="target"} 1048576"#
        ), "{text}");
        observe(&[(&a, "Recreate")]);
        let text = encode(&metrics);
        assert!(!text.contains(r#"vpa="b""#), "{text}");
        assert!(!text.contains(r#"update_mode="Off""#), "{text}");
        assert!(text.contains(r#"vpa_recommender_vpa_objects_count{update_mode="Recreate",has_recommendation="true",api="v1",matches_pods="true",unsupported_config="false"} 1"#), "{text}");
    }
}
