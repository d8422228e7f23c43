//! Upstream's recommender metrics about its metric sources: `metric_server_responses` (one per
//! PodMetrics list) and `prometheus_client_api_requests_count` / `_duration_seconds` (one per
//! answered Prometheus request), with upstream's names and labels.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use vpa_common::metrics::UnsuffixedCounters;

use crate::input::prometheus_history::RequestObserver;

/// The metrics client's name in `client_name`, as upstream's.
pub const METRICS_CLIENT_NAME: &str = "default-metrics-client";

/// `{is_error, client_name}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ResponseLabels {
    /// `true` when the list failed.
    pub is_error: String,
    /// Which metrics client asked ([`METRICS_CLIENT_NAME`]).
    pub client_name: String,
}

/// `{code, method}`: the HTTP status and the lower-case method, as Go's `promhttp` labels them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct CodeMethod {
    /// HTTP status code, e.g. `200`.
    pub code: String,
    /// `get` or `post`.
    pub method: String,
}

/// Go's `prometheus.DefBuckets`, seconds.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn request_histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

/// The metric source metrics.
#[derive(Debug)]
pub struct ClientMetrics {
    /// PodMetrics lists, by outcome.
    pub metric_server_responses: Arc<UnsuffixedCounters<ResponseLabels>>,
    /// Answered Prometheus requests.
    pub prometheus_requests: Arc<UnsuffixedCounters<CodeMethod>>,
    /// Time to each Prometheus answer, seconds.
    pub prometheus_request_duration: Family<CodeMethod, Histogram, fn() -> Histogram>,
}

impl Default for ClientMetrics {
    fn default() -> Self {
        Self {
            metric_server_responses: Arc::new(UnsuffixedCounters::new(
                "metric_server_responses",
                "Count of responses to queries to metrics server",
            )),
            prometheus_requests: Arc::new(UnsuffixedCounters::new(
                "prometheus_client_api_requests_count",
                "Number of requests to a Prometheus API",
            )),
            prometheus_request_duration: Family::new_with_constructor(request_histogram),
        }
    }
}

impl ClientMetrics {
    /// Registers the metrics in `registry` (the recommender's `vpa_recommender_` sub-registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(self.metric_server_responses.clone()));
        registry.register_collector(Box::new(self.prometheus_requests.clone()));
        registry.register(
            "prometheus_client_api_requests_duration_seconds",
            "Duration of requests to a Prometheus API",
            self.prometheus_request_duration.clone(),
        );
    }

    /// Counts one PodMetrics list, failed or not.
    pub fn metric_server_response(&self, failed: bool) {
        self.metric_server_responses.inc(&ResponseLabels {
            is_error: failed.to_string(),
            client_name: METRICS_CLIENT_NAME.into(),
        });
    }
}

impl RequestObserver for ClientMetrics {
    fn answered(&self, code: u16, method: &'static str, seconds: f64) {
        let labels = CodeMethod {
            code: code.to_string(),
            method: method.to_owned(),
        };
        self.prometheus_requests.inc(&labels);
        self.prometheus_request_duration
            .get_or_create(&labels)
            .observe(seconds);
    }
}
