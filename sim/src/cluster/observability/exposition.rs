//! The simulated usage as a Prometheus `/metrics` page (pure): cAdvisor-style series that a real
//! Prometheus can scrape, plus kube-state-metrics-style requests for dashboards.
//!
//! Each container series carries both label spellings, `pod`/`container` (current cAdvisor) and
//! `pod_name`/`name` (upstream VPA's defaults for `--container-pod-name-label` and
//! `--container-name-label`), so the recommender works with either setting.

use std::fmt::Write as _;

/// What the page reports for one container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerSeries {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// Cumulative CPU time used, seconds (a counter).
    pub cpu_seconds_total: f64,
    /// Current working set, bytes.
    pub memory_working_set_bytes: f64,
    /// CPU request, cores, when set.
    pub cpu_request_cores: Option<f64>,
    /// Memory request, bytes, when set.
    pub memory_request_bytes: Option<f64>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the page in the Prometheus text format (version 0.0.4).
pub fn render(series: &[ContainerSeries]) -> String {
    let mut out = String::new();
    let labels = |s: &ContainerSeries| {
        let (ns, pod, c) = (escape(&s.namespace), escape(&s.pod), escape(&s.container));
        format!(
            "namespace=\"{ns}\",pod=\"{pod}\",container=\"{c}\",pod_name=\"{pod}\",name=\"{c}\""
        )
    };
    out.push_str(
        "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.\n",
    );
    out.push_str("# TYPE container_cpu_usage_seconds_total counter\n");
    for s in series {
        let _ = writeln!(
            out,
            "container_cpu_usage_seconds_total{{{}}} {}",
            labels(s),
            s.cpu_seconds_total
        );
    }
    out.push_str("# HELP container_memory_working_set_bytes Current working set in bytes.\n");
    out.push_str("# TYPE container_memory_working_set_bytes gauge\n");
    for s in series {
        let _ = writeln!(
            out,
            "container_memory_working_set_bytes{{{}}} {}",
            labels(s),
            s.memory_working_set_bytes
        );
    }
    out.push_str("# HELP kube_pod_container_resource_requests The number of requested resources by a container.\n");
    out.push_str("# TYPE kube_pod_container_resource_requests gauge\n");
    for s in series {
        let (ns, pod, c) = (escape(&s.namespace), escape(&s.pod), escape(&s.container));
        for (resource, unit, value) in [
            ("cpu", "core", s.cpu_request_cores),
            ("memory", "byte", s.memory_request_bytes),
        ] {
            if let Some(v) = value {
                let _ = writeln!(
                    out,
                    "kube_pod_container_resource_requests{{namespace=\"{ns}\",pod=\"{pod}\",container=\"{c}\",resource=\"{resource}\",unit=\"{unit}\"}} {v}"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_label_spellings_and_requests() {
        let page = render(&[ContainerSeries {
            namespace: "default".into(),
            pod: "hamster-1".into(),
            container: "hamster".into(),
            cpu_seconds_total: 12.5,
            memory_working_set_bytes: 62914560.0,
            cpu_request_cores: Some(0.1),
            memory_request_bytes: None,
        }]);
        assert!(page.contains(
            "container_cpu_usage_seconds_total{namespace=\"default\",pod=\"hamster-1\",container=\"hamster\",pod_name=\"hamster-1\",name=\"hamster\"} 12.5\n"
        ));
        assert!(page.contains("container_memory_working_set_bytes{"));
        assert!(page.contains("resource=\"cpu\",unit=\"core\"} 0.1\n"));
        assert!(!page.contains("resource=\"memory\""));
    }
}
