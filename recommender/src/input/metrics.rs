//! `metrics.k8s.io/v1beta1` PodMetrics, as metrics-server serves them, and their conversion to
//! usage samples (pure). A list is split into items by [`super::list_items::ListItems`] as it
//! arrives and each item decoded on its own, borrowing names, times and quantities from its text:
//! at 50k pods the typed list (a quantity map per container) took about 90 MiB.

use std::borrow::Cow;

use serde::Deserialize;
use vpa_common::quantity::Quantity;

use super::ContainerUsage;

/// Usage of one pod's containers over a window ending at `timestamp`.
#[derive(Debug, Deserialize)]
pub struct PodMetrics<'a> {
    /// Name and namespace of the pod.
    #[serde(borrow)]
    pub metadata: PodMetricsMeta<'a>,
    /// End of the measurement window (RFC 3339).
    #[serde(borrow)]
    pub timestamp: Cow<'a, str>,
    /// One entry per container.
    #[serde(borrow, default)]
    pub containers: Vec<ContainerMetrics<'a>>,
}

/// `metadata` of [`PodMetrics`].
#[derive(Debug, Deserialize)]
pub struct PodMetricsMeta<'a> {
    /// Pod name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Pod namespace.
    #[serde(borrow, default)]
    pub namespace: Cow<'a, str>,
}

/// Usage of one container.
#[derive(Debug, Deserialize)]
pub struct ContainerMetrics<'a> {
    /// Container name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// `cpu` and `memory` usage.
    #[serde(borrow, default)]
    pub usage: Usage<'a>,
}

/// The two quantities of a container's usage.
#[derive(Debug, Default, Deserialize)]
pub struct Usage<'a> {
    /// CPU, e.g. `501234567n`.
    #[serde(borrow)]
    pub cpu: Option<Cow<'a, str>>,
    /// Memory working set, e.g. `61440Ki`.
    #[serde(borrow)]
    pub memory: Option<Cow<'a, str>>,
}

/// The path listing PodMetrics of every namespace, or of `namespace` only.
pub fn list_path(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        None => "/apis/metrics.k8s.io/v1beta1/pods".to_owned(),
    }
}

/// One CPU and memory sample per container, timed at the PodMetrics `timestamp` as upstream times
/// it (its `SnapshotTime` becomes the sample's `MeasureStart`; the window is not subtracted, or
/// every memory-peak window and OOM would sit one metrics window away from upstream's). Containers
/// with unparsable usage are skipped.
pub fn usage_samples(metrics: &PodMetrics<'_>) -> Vec<ContainerUsage> {
    let Ok(end) = metrics.timestamp.parse::<k8s_openapi::jiff::Timestamp>() else {
        return Vec::new();
    };
    let timestamp = end.as_second();
    metrics
        .containers
        .iter()
        .filter_map(|c| {
            let cpu = c.usage.cpu.as_deref()?.parse::<Quantity>().ok()?;
            let memory = c.usage.memory.as_deref()?.parse::<Quantity>().ok()?;
            Some(ContainerUsage {
                namespace: metrics.metadata.namespace.to_string(),
                pod: metrics.metadata.name.to_string(),
                container: c.name.to_string(),
                measure_start: timestamp,
                cpu_millicores: cpu.millis_ceil(),
                memory_bytes: memory.units_ceil(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::list_items::ListItems;
    use super::*;

    /// Splits `text` into its items' JSON as the recommender does.
    fn split_list(text: &str) -> (Vec<Vec<u8>>, Result<usize, String>) {
        let mut items = Vec::new();
        let mut splitter = ListItems::new();
        splitter.push(text.as_bytes(), |item| items.push(item.to_vec()));
        (items, splitter.finish())
    }

    fn decode(item: &[u8]) -> Result<PodMetrics<'_>, serde_json::Error> {
        serde_json::from_slice(item)
    }

    #[test]
    fn lists_decode_item_by_item_and_skip_malformed_items() {
        let text = r#"{"kind":"PodMetricsList","metadata":{"resourceVersion":"7"},
            "items":[{"metadata":{"name":"a","namespace":"n"},"timestamp":"2026-11-28T10:00:30Z",
            "window":"30s","containers":[]},{"metadata":{}},{"metadata":{"name":"b"},"timestamp":"x"}]}"#;
        let (items, done) = split_list(text);
        assert_eq!(done, Ok(3));
        assert_eq!(decode(&items[0]).unwrap().metadata.name, "a");
        let error = decode(&items[1]).unwrap_err().to_string();
        assert!(error.starts_with("missing field `name`"), "{error}");
        assert_eq!(
            decode(&items[2]).unwrap().metadata.name,
            "b",
            "a bad item does not lose the ones after it"
        );
        assert_eq!(split_list(r#"{"items":null}"#).1, Ok(0));
        assert!(split_list(r#"{"items":[]} trailing"#).1.is_err());
    }

    #[test]
    fn lists_all_namespaces_or_one() {
        assert_eq!(list_path(None), "/apis/metrics.k8s.io/v1beta1/pods");
        assert_eq!(
            list_path(Some("shop")),
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"
        );
    }

    #[test]
    fn pod_metrics_from_metrics_server_become_samples() {
        let text = serde_json::json!({"kind": "PodMetricsList", "items": [{
            "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": "hamster-1", "namespace": "default",
                "labels": {"app": "hamster"}, "creationTimestamp": "2026-11-28T10:00:31Z"},
            "timestamp": "2026-11-28T10:00:30Z", "window": "30s",
            "containers": [
                {"name": "hamster", "usage": {"cpu": "501234567n", "memory": "61440Ki"}},
                {"name": "broken", "usage": {"cpu": "lots"}},
                {"name": "esc\\aped", "usage": {"cpu": "1", "memory": "1Gi"}}
            ]
        }]})
        .to_string();
        let (items, done) = split_list(&text);
        assert_eq!(done, Ok(1));
        let samples = usage_samples(&decode(&items[0]).unwrap());
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[1].container, "esc\\aped");
        let samples = &samples[..1];
        let s = &samples[0];
        assert_eq!(
            (s.container.as_str(), s.cpu_millicores, s.memory_bytes),
            ("hamster", 502, 61440 * 1024)
        );
        assert_eq!(
            s.measure_start,
            "2026-11-28T10:00:30Z"
                .parse::<k8s_openapi::jiff::Timestamp>()
                .unwrap()
                .as_second()
        );
    }
}
