//! `metrics.k8s.io/v1beta1` PodMetrics, as metrics-server serves them, and their conversion to
//! usage samples (the conversion is pure).

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};

use super::ContainerUsage;

/// Usage of one pod's containers over a window ending at `timestamp`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PodMetrics {
    /// Standard metadata (name and namespace of the pod).
    pub metadata: ObjectMeta,
    /// End of the measurement window.
    pub timestamp: Time,
    /// Length of the window, e.g. `30s`.
    pub window: String,
    /// One entry per container.
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

/// Usage of one container.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ContainerMetrics {
    /// Container name.
    pub name: String,
    /// `cpu` and `memory` usage.
    #[serde(default)]
    pub usage: vpa_common::api::ResourceList,
}

impl k8s_openapi::Resource for PodMetrics {
    const API_VERSION: &'static str = "metrics.k8s.io/v1beta1";
    const GROUP: &'static str = "metrics.k8s.io";
    const KIND: &'static str = "PodMetrics";
    const VERSION: &'static str = "v1beta1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for PodMetrics {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl k8s_openapi::ListableResource for PodMetrics {
    const LIST_KIND: &'static str = "PodMetricsList";
}

/// Parses a Go duration as metrics-server writes it (`30s`, `1m0s`, `1.5s`) into seconds.
pub fn parse_window_seconds(window: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = window.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit: Cow<str> = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms".into()
        } else {
            c.to_string().into()
        };
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value
            * match unit.as_ref() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                _ => return None,
            };
    }
    number.is_empty().then_some(total)
}

/// One CPU and memory sample per container; the measurement starts at `timestamp - window`, as the
/// window is what the usage averages over. Containers with unparsable usage are skipped.
pub fn usage_samples(metrics: &PodMetrics) -> Vec<ContainerUsage> {
    let end = metrics.timestamp.0.as_second();
    let window = parse_window_seconds(&metrics.window).unwrap_or(0.0) as i64;
    metrics
        .containers
        .iter()
        .filter_map(|c| {
            let cpu = vpa_common::resources::amount("cpu", c.usage.get("cpu")?).ok()?;
            let memory = vpa_common::resources::amount("memory", c.usage.get("memory")?).ok()?;
            Some(ContainerUsage {
                namespace: metrics.metadata.namespace.clone().unwrap_or_default(),
                pod: metrics.metadata.name.clone().unwrap_or_default(),
                container: c.name.clone(),
                measure_start: end - window,
                cpu_millicores: cpu,
                memory_bytes: memory,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_window_seconds("30s"), Some(30.0));
        assert_eq!(parse_window_seconds("1m0s"), Some(60.0));
        assert_eq!(parse_window_seconds("1m30.5s"), Some(90.5));
        assert_eq!(parse_window_seconds("250ms"), Some(0.25));
        assert_eq!(parse_window_seconds("5x"), None);
        assert_eq!(parse_window_seconds("12"), None);
    }

    #[test]
    fn pod_metrics_from_metrics_server_become_samples() {
        let pm: PodMetrics = serde_json::from_value(serde_json::json!({
            "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": "hamster-1", "namespace": "default"},
            "timestamp": "2026-11-28T10:00:30Z", "window": "30s",
            "containers": [
                {"name": "hamster", "usage": {"cpu": "501234567n", "memory": "61440Ki"}},
                {"name": "broken", "usage": {"cpu": "lots"}}
            ]
        }))
        .unwrap();
        let samples = usage_samples(&pm);
        assert_eq!(samples.len(), 1);
        let s = &samples[0];
        assert_eq!(
            (s.container.as_str(), s.cpu_millicores, s.memory_bytes),
            ("hamster", 502, 61440 * 1024)
        );
        assert_eq!(
            s.measure_start,
            "2026-11-28T10:00:00Z"
                .parse::<k8s_openapi::jiff::Timestamp>()
                .unwrap()
                .as_second()
        );
    }
}
