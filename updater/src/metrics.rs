//! Prometheus metrics of the updater with upstream's names (`vpa_updater_*`), registered in an
//! explicit registry (no globals).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Loop steps timed by `execution_latency_seconds`, as upstream.
pub mod step {
    /// Reading the VPAs.
    pub const LIST_VPAS: &str = "ListVPAs";
    /// Reading the pods.
    pub const LIST_PODS: &str = "ListPods";
    /// Matching pods to VPAs and planning.
    pub const FILTER_PODS: &str = "FilterPods";
    /// Per-loop admission state: resize timers, controllers, LimitRanges.
    pub const ADMISSION_INIT: &str = "AdmissionInit";
    /// Resizing and evicting.
    pub const EVICT_PODS: &str = "EvictPods";
    /// The whole loop.
    pub const TOTAL: &str = "total";
}

/// `{vpa_size_log2, update_mode}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SizeMode {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
    /// The VPA's update mode.
    pub update_mode: String,
}

/// `{vpa_size_log2}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Size {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
}

/// `{vpa_size_log2, update_mode, vpa_name, vpa_namespace}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Evicted {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
    /// The VPA's update mode.
    pub update_mode: String,
    /// VPA name.
    pub vpa_name: String,
    /// VPA namespace.
    pub vpa_namespace: String,
}

/// `{vpa_size_log2, update_mode, reason, vpa_name, vpa_namespace}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailedEviction {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
    /// The VPA's update mode.
    pub update_mode: String,
    /// `EvictionError` or `EvictionRateLimiterWaitFailed`.
    pub reason: String,
    /// VPA name.
    pub vpa_name: String,
    /// VPA namespace.
    pub vpa_namespace: String,
}

/// `{vpa_size_log2, vpa_name, vpa_namespace}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InPlaceUpdated {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
    /// VPA name.
    pub vpa_name: String,
    /// VPA namespace.
    pub vpa_namespace: String,
}

/// `{vpa_size_log2, reason, vpa_name, vpa_namespace}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailedInPlace {
    /// floor(log2(number of pods controlled by the VPA)).
    pub vpa_size_log2: u32,
    /// `InPlaceUpdateError`, `InPlaceUpdateInfeasible`, `InPlaceUpdateRateLimiterWaitFailed`,
    /// `UnboostError`.
    pub reason: String,
    /// VPA name.
    pub vpa_name: String,
    /// VPA namespace.
    pub vpa_namespace: String,
}

/// `{step}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Step {
    /// One of [`step`].
    pub step: String,
}

type Latency = Family<Step, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 4.4 min.
    Histogram::new(exponential_buckets(0.0005, 2.0, 20))
}

/// All updater metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Pods controlled by handled VPAs (gauge, per loop).
    pub controlled_pods: Family<SizeMode, Gauge>,
    /// Pods that could be evicted (gauge, per loop).
    pub evictable_pods: Family<SizeMode, Gauge>,
    /// Evicted pods (counter).
    pub evicted_pods: Family<Evicted, Counter>,
    /// VPAs with evictable pods (gauge, per loop).
    pub vpas_with_evictable_pods: Family<SizeMode, Gauge>,
    /// VPAs with evicted pods (gauge, per loop).
    pub vpas_with_evicted_pods: Family<SizeMode, Gauge>,
    /// Failed evictions (counter).
    pub failed_eviction_attempts: Family<FailedEviction, Counter>,
    /// Pods that could be resized in place (gauge, per loop).
    pub in_place_updatable_pods: Family<Size, Gauge>,
    /// Pods resized in place (counter).
    pub in_place_updated_pods: Family<InPlaceUpdated, Counter>,
    /// VPAs with in-place updatable pods (gauge, per loop).
    pub vpas_with_in_place_updatable_pods: Family<Size, Gauge>,
    /// VPAs with in-place updated pods (gauge, per loop).
    pub vpas_with_in_place_updated_pods: Family<Size, Gauge>,
    /// Failed in-place updates (counter).
    pub failed_in_place_update_attempts: Family<FailedInPlace, Counter>,
    /// Time per loop step, seconds.
    pub execution_latency: Latency,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            controlled_pods: Family::default(),
            evictable_pods: Family::default(),
            evicted_pods: Family::default(),
            vpas_with_evictable_pods: Family::default(),
            vpas_with_evicted_pods: Family::default(),
            failed_eviction_attempts: Family::default(),
            in_place_updatable_pods: Family::default(),
            in_place_updated_pods: Family::default(),
            vpas_with_in_place_updatable_pods: Family::default(),
            vpas_with_in_place_updated_pods: Family::default(),
            failed_in_place_update_attempts: Family::default(),
            execution_latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl Metrics {
    /// Registers every metric under `vpa_updater_` in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("vpa_updater");
        // Gauges keep their name as given; counters get `_total` appended by the encoder.
        r.register(
            "controlled_pods_total",
            "Number of pods controlled by VPAs the updater handles",
            self.controlled_pods.clone(),
        );
        r.register(
            "evictable_pods_total",
            "Number of pods matching the eviction criteria",
            self.evictable_pods.clone(),
        );
        r.register(
            "evicted_pods",
            "Number of evicted pods",
            self.evicted_pods.clone(),
        );
        r.register(
            "vpas_with_evictable_pods_total",
            "Number of VPAs with evictable pods",
            self.vpas_with_evictable_pods.clone(),
        );
        r.register(
            "vpas_with_evicted_pods_total",
            "Number of VPAs with evicted pods",
            self.vpas_with_evicted_pods.clone(),
        );
        r.register(
            "failed_eviction_attempts",
            "Number of failed attempts to evict a pod",
            self.failed_eviction_attempts.clone(),
        );
        r.register(
            "in_place_updatable_pods_total",
            "Number of pods matching the in-place update criteria",
            self.in_place_updatable_pods.clone(),
        );
        r.register(
            "in_place_updated_pods",
            "Number of pods resized in place",
            self.in_place_updated_pods.clone(),
        );
        r.register(
            "vpas_with_in_place_updatable_pods_total",
            "Number of VPAs with pods matching the in-place update criteria",
            self.vpas_with_in_place_updatable_pods.clone(),
        );
        r.register(
            "vpas_with_in_place_updated_pods_total",
            "Number of VPAs with pods resized in place",
            self.vpas_with_in_place_updated_pods.clone(),
        );
        r.register(
            "failed_in_place_update_attempts",
            "Number of failed attempts to resize a pod in place",
            self.failed_in_place_update_attempts.clone(),
        );
        r.register(
            "execution_latency_seconds",
            "Time spent in each step of the updater loop",
            self.execution_latency.clone(),
        );
    }

    /// Clears the per-loop gauges before a loop sets them again.
    pub fn reset_loop_gauges(&self) {
        self.controlled_pods.clear();
        self.evictable_pods.clear();
        self.vpas_with_evictable_pods.clear();
        self.vpas_with_evicted_pods.clear();
        self.in_place_updatable_pods.clear();
        self.vpas_with_in_place_updatable_pods.clear();
        self.vpas_with_in_place_updated_pods.clear();
    }

    /// Records the duration of a loop step.
    pub fn observe_step(&self, step: &str, seconds: f64) {
        self.execution_latency
            .get_or_create(&Step { step: step.into() })
            .observe(seconds);
    }
}

pub use vpa_common::metrics::size_log2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed_under_upstream_names() {
        let metrics = Metrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics
            .evicted_pods
            .get_or_create(&Evicted {
                vpa_size_log2: size_log2(5),
                update_mode: "Recreate".into(),
                vpa_name: "v".into(),
                vpa_namespace: "ns".into(),
            })
            .inc();
        metrics.observe_step(step::FILTER_PODS, 0.002);
        metrics
            .controlled_pods
            .get_or_create(&SizeMode {
                vpa_size_log2: 2,
                update_mode: "Recreate".into(),
            })
            .set(5);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            r#"vpa_updater_evicted_pods_total{vpa_size_log2="2",update_mode="Recreate",vpa_name="v",vpa_namespace="ns"} 1"#
        ), "{text}");
        assert!(
            text.contains(r#"vpa_updater_execution_latency_seconds_count{step="FilterPods"} 1"#)
        );
        assert!(text.contains(
            r#"vpa_updater_controlled_pods_total{vpa_size_log2="2",update_mode="Recreate"} 5"#
        ));
    }

    #[test]
    fn size_buckets_are_floor_log2() {
        assert_eq!([0, 1, 2, 3, 4, 1000].map(size_log2), [0, 0, 1, 1, 2, 9]);
    }
}
