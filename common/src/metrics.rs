//! Metric helpers the components share (pure data behind locks, encoded at scrape time).
//!
//! Upstream registers a few counters whose names do not end in `_total`
//! (`vpa_recommender_metric_server_responses`, `..._prometheus_client_api_requests_count`,
//! `vpa_quality_usage_sample_missing_recommendation_count`) and serves the Prometheus text
//! format, where a counter keeps its name. OpenMetrics, which `/metrics` serves here, appends
//! `_total` to every counter; so these are exposed by [`UnsuffixedCounters`] as OpenMetrics
//! `unknown` metrics, which keep their name. Queries (`rate(...)`, `increase(...)`) work the
//! same on them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;

/// A family of counters exposed under their exact name (see the module docs), by label set.
#[derive(Debug)]
pub struct UnsuffixedCounters<L> {
    name: &'static str,
    help: &'static str,
    values: Mutex<BTreeMap<L, u64>>,
}

impl<L: Ord + Clone> UnsuffixedCounters<L> {
    /// An empty family named `name` (without the registry's prefix).
    pub fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            values: Mutex::default(),
        }
    }

    /// Adds one to the counter of `labels`.
    pub fn inc(&self, labels: &L) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        match values.get_mut(labels) {
            Some(value) => *value += 1,
            None => {
                values.insert(labels.clone(), 1);
            }
        }
    }

    /// The counter of `labels` (0 when never incremented).
    pub fn get(&self, labels: &L) -> u64 {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values.get(labels).copied().unwrap_or(0)
    }
}

impl<L> Collector for UnsuffixedCounters<L>
where
    L: EncodeLabelSet + Ord + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        if values.is_empty() {
            return Ok(());
        }
        let mut family =
            encoder.encode_descriptor(self.name, self.help, None, MetricType::Unknown)?;
        for (labels, value) in values.iter() {
            family.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }
}

/// Upstream's `vpa_size_log2` label value: floor(log2(size)), 0 for sizes 0 and 1.
pub fn size_log2(size: usize) -> u32 {
    if size <= 1 { 0 } else { size.ilog2() }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prometheus_client::registry::Registry;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, EncodeLabelSet)]
    struct Labels {
        is_error: String,
    }

    #[test]
    fn counters_keep_their_name_and_count_per_label_set() {
        let counters = Arc::new(UnsuffixedCounters::new("responses", "Responses seen"));
        let mut registry = Registry::default();
        registry
            .sub_registry_with_prefix("vpa_test")
            .register_collector(Box::new(counters.clone()));
        let encode = || {
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
            out
        };
        assert!(
            !encode().contains("vpa_test_responses"),
            "no series before the first event"
        );
        let ok = Labels {
            is_error: "false".into(),
        };
        counters.inc(&ok);
        counters.inc(&ok);
        assert_eq!(counters.get(&ok), 2);
        let text = encode();
        assert!(text.contains("# TYPE vpa_test_responses unknown"), "{text}");
        assert!(
            text.contains("vpa_test_responses{is_error=\"false\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("_total"), "{text}");
    }

    #[test]
    fn size_log2_rounds_down() {
        let sizes = [0, 1, 2, 3, 4, 1000];
        assert_eq!(sizes.map(size_log2), [0, 0, 1, 1, 2, 9]);
    }
}
