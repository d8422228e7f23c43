//! Prometheus metrics of the admission controller (`vpa_admission_controller_*`), registered in
//! one explicit registry.

use std::sync::Arc;
use std::time::Instant;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: &'static str,
}

/// Steps of one request timed by `execution_latency_seconds`, as upstream's server names them.
pub mod step {
    /// Reading the body and checking its content type.
    pub const READ_REQUEST: &str = "read_request";
    /// Decoding the review and deciding the answer.
    pub const ADMIT: &str = "admit";
    /// Encoding the AdmissionReview answer.
    pub const BUILD_RESPONSE: &str = "build_response";
    /// Handing the answer to the HTTP server (which then writes it).
    pub const WRITE_RESPONSE: &str = "write_response";
    /// The whole request, observed for every request (also ones refused early).
    pub const TOTAL: &str = "total";
}

/// Upstream's execution-time buckets, seconds.
const STEP_BUCKETS: [f64; 23] = [
    0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0,
    90.0, 100.0, 120.0, 150.0, 240.0, 300.0,
];

/// Times the steps of one request: each [`ExecutionTimer::step`] observes the time since the
/// previous one; dropping the timer observes [`step::TOTAL`] (as upstream's deferred call).
pub struct ExecutionTimer<'a> {
    metrics: &'a Metrics,
    start: Instant,
    last: Instant,
}

impl ExecutionTimer<'_> {
    /// Observes `name` as the time since the last step (or the start).
    pub fn step(&mut self, name: &'static str) {
        let now = Instant::now();
        self.metrics
            .observe_step(name, now.duration_since(self.last).as_secs_f64());
        self.last = now;
    }
}

impl Drop for ExecutionTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .observe_step(step::TOTAL, self.start.elapsed().as_secs_f64());
    }
}

const BUCKETS: [f64; 18] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
    10.24, 20.48, 60.0, 300.0,
];

/// The admission controller's metrics.
pub struct Metrics {
    registry: Arc<Registry>,
    latency: Family<LatencyLabels, Histogram>,
    pods: Family<AppliedLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    steps: Family<StepLabels, Histogram>,
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
        let steps =
            Family::<StepLabels, Histogram>::new_with_constructor(|| Histogram::new(STEP_BUCKETS));
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
        registry.register(
            "execution_latency_seconds",
            "Time spent in various parts of VPA admission controller",
            steps.clone(),
        );
        Self {
            registry: Arc::new(registry),
            latency,
            pods,
            errors,
            steps,
        }
    }

    /// A timer for one request's steps, started now.
    pub fn execution_timer(&self) -> ExecutionTimer<'_> {
        let now = Instant::now();
        ExecutionTimer {
            metrics: self,
            start: now,
            last: now,
        }
    }

    /// Records that `step` took `seconds`.
    pub fn observe_step(&self, step: &'static str, seconds: f64) {
        self.steps
            .get_or_create(&StepLabels { step })
            .observe(seconds);
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

    /// The registry, for the admin server's streamed `/metrics`.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
