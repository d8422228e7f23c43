//! Prometheus metrics of the admission controller (`vpa_admission_controller_*`), registered in
//! one explicit registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Result of one admission, for the latency histogram's `status` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A patch was returned.
    Applied,
    /// Nothing to do (no VPA, no recommendation, not a handled operation) or a VPA validated.
    Skipped,
    /// Something failed; the object was admitted unchanged.
    Error,
}

impl Status {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Skipped => "skipped",
            Self::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    status: &'static str,
    resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppliedLabels {
    applied: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    reason: &'static str,
}

const BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
    10.24, 20.48, 60.0, 300.0,
];

/// The admission controller's metrics.
pub struct Metrics {
    registry: Registry,
    latency: Family<LatencyLabels, Histogram>,
    pods: Family<AppliedLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vpa_admission_controller");
        let latency =
            Family::<LatencyLabels, Histogram>::new_with_constructor(|| Histogram::new(BUCKETS));
        let pods = Family::<AppliedLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "admission_latency_seconds",
            "Time to answer one AdmissionReview, seconds, by resource (Pod, VPA, unknown) and status",
            latency.clone(),
        );
        registry.register(
            "admission_pods",
            "Pods admitted, by whether a patch was applied",
            pods.clone(),
        );
        registry.register(
            "errors",
            "Admissions answered without a patch because of an error, by reason",
            errors.clone(),
        );
        Self {
            registry,
            latency,
            pods,
            errors,
        }
    }

    /// Records one answered review.
    pub fn observe(&self, resource: &'static str, status: Status, seconds: f64) {
        self.latency
            .get_or_create(&LatencyLabels {
                status: status.as_str(),
                resource,
            })
            .observe(seconds);
    }

    /// Counts one admitted pod.
    pub fn pod_admitted(&self, applied: bool) {
        let applied = if applied { "true" } else { "false" };
        self.pods.get_or_create(&AppliedLabels { applied }).inc();
    }

    /// Counts one error.
    pub fn error(&self, reason: &'static str) {
        self.errors.get_or_create(&ErrorLabels { reason }).inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
