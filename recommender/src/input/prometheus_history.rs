//! Loads usage history from Prometheus at start (edge), in bounded chunks.
//!
//! Upstream asks Prometheus for the whole history window in one range query per resource: on big
//! clusters the answer does not fit in memory, and with fine resolutions Prometheus refuses it
//! (more than 11,000 points per series). We split the work per namespace and per time slice
//! (each slice at most [`MAX_POINTS_PER_SERIES`] steps), hand every sample to a caller-supplied
//! sink as soon as its slice arrives, and keep nothing: memory stays flat whatever the history
//! length. Query building and slice planning are pure and unit-tested; only `PrometheusHistory`
//! talks to the network.

use std::time::Duration;

use prometheus_http_query::Client;

/// Prometheus rejects range queries with more points than this per series; we stay well below.
pub const MAX_POINTS_PER_SERIES: i64 = 10_000;

/// Where and what to query, with upstream's flag defaults.
#[derive(Clone, Debug)]
pub struct HistoryConfig {
    /// Base URL of Prometheus (`--prometheus-address`).
    pub address: String,
    /// How far back to load (`--history-length`, 8 days).
    pub history_length: Duration,
    /// Step between samples (`--history-resolution`, 1 hour).
    pub resolution: Duration,
    /// Longest time slice asked for in one query; `None` lets the loader derive it from the
    /// resolution so that no slice exceeds [`MAX_POINTS_PER_SERIES`].
    pub slice: Option<Duration>,
    /// Per-query timeout (`--prometheus-query-timeout`, 5 minutes).
    pub query_timeout: Duration,
    /// Scrape job of cAdvisor (`--prometheus-cadvisor-job-name`).
    pub cadvisor_job_name: String,
    /// CPU counter, seconds of CPU (`--history-cpu-metric`).
    pub cpu_metric: String,
    /// Memory gauge, bytes (`--history-memory-metric`).
    pub memory_metric: String,
    /// Label holding the namespace (`--container-namespace-label`).
    pub namespace_label: String,
    /// Label holding the pod name (`--container-pod-name-label`).
    pub pod_label: String,
    /// Label holding the container name (`--container-name-label`).
    pub container_label: String,
    /// Only this namespace when set (`--vpa-object-namespace`).
    pub namespace: Option<String>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            address: "http://prometheus.monitoring.svc".into(),
            history_length: Duration::from_secs(8 * 24 * 3600),
            resolution: Duration::from_secs(3600),
            slice: None,
            query_timeout: Duration::from_secs(300),
            cadvisor_job_name: "kubernetes-cadvisor".into(),
            cpu_metric: "container_cpu_usage_seconds_total".into(),
            memory_metric: "container_memory_working_set_bytes".into(),
            namespace_label: "namespace".into(),
            pod_label: "pod_name".into(),
            container_label: "name".into(),
            namespace: None,
        }
    }
}

/// Which resource a sample measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryResource {
    /// CPU usage rate, in cores.
    Cpu,
    /// Working set, in bytes.
    Memory,
}

/// One historical usage sample of one container.
#[derive(Clone, Debug, PartialEq)]
pub struct HistorySample {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// What `value` measures.
    pub resource: HistoryResource,
    /// Sample time, unix seconds.
    pub timestamp: i64,
    /// Cores for CPU, bytes for memory.
    pub value: f64,
}

/// What one load did, for logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Range queries sent.
    pub queries: usize,
    /// Samples handed to the sink.
    pub samples: usize,
    /// Distinct series seen (per query, so a series spanning slices counts once per slice).
    pub series: usize,
}

/// A failed history load.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The configured address is not a usable URL.
    #[error("invalid Prometheus address {address:?}: {source}")]
    Address {
        /// The `--prometheus-address` value.
        address: String,
        /// Why it was refused.
        source: prometheus_http_query::Error,
    },
    /// A query failed or was rejected.
    #[error("Prometheus query failed ({query}): {source}")]
    Query {
        /// The PromQL sent.
        query: String,
        /// The client's or server's error.
        source: prometheus_http_query::Error,
    },
}

impl HistoryConfig {
    /// The series selector upstream uses, limited to `namespace` when given.
    pub fn selector(&self, namespace: Option<&str>) -> String {
        let mut sel = format!(
            "job=\"{}\", {}=~\".+\", {}!=\"POD\", {}!=\"\"",
            self.cadvisor_job_name, self.pod_label, self.container_label, self.container_label
        );
        if let Some(ns) = namespace.or(self.namespace.as_deref()) {
            sel.push_str(&format!(", {}=\"{}\"", self.namespace_label, escape(ns)));
        }
        sel
    }

    /// PromQL for CPU usage in cores, averaged over one resolution step.
    pub fn cpu_query(&self, namespace: Option<&str>) -> String {
        format!(
            "rate({}{{{}}}[{}s])",
            self.cpu_metric,
            self.selector(namespace),
            self.resolution.as_secs().max(1)
        )
    }

    /// PromQL for the memory working set in bytes.
    pub fn memory_query(&self, namespace: Option<&str>) -> String {
        format!("{}{{{}}}", self.memory_metric, self.selector(namespace))
    }

    /// PromQL listing the namespaces that have samples in the window.
    pub fn namespaces_query(&self) -> String {
        format!(
            "count by ({}) (last_over_time({}{{{}}}[{}s]))",
            self.namespace_label,
            self.memory_metric,
            self.selector(None),
            self.history_length.as_secs().max(1)
        )
    }

    /// Splits `[end - history_length, end]` into consecutive slices of at most
    /// [`MAX_POINTS_PER_SERIES`] steps (or the configured slice), oldest first.
    pub fn slices(&self, end: i64) -> Vec<(i64, i64)> {
        let step = self.resolution.as_secs().max(1) as i64;
        let longest = self
            .slice
            .map(|s| s.as_secs() as i64)
            .unwrap_or(i64::MAX)
            .min(step * (MAX_POINTS_PER_SERIES - 1))
            .max(step);
        let start = end - self.history_length.as_secs() as i64;
        let mut out = Vec::new();
        let mut from = start;
        while from < end {
            let to = (from + longest).min(end);
            out.push((from, to));
            // Next slice starts one step later so no timestamp is asked for twice.
            from = to + step;
        }
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Prometheus history source.
pub struct PrometheusHistory {
    client: Client,
    config: HistoryConfig,
}

impl PrometheusHistory {
    /// A source for `config.address`, using the given HTTP client (for auth and TLS settings).
    pub fn new(http: reqwest::Client, config: HistoryConfig) -> Result<Self, HistoryError> {
        let client =
            Client::from(http, &config.address).map_err(|source| HistoryError::Address {
                address: config.address.clone(),
                source,
            })?;
        Ok(Self { client, config })
    }

    /// The configuration in use.
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// Namespaces with container samples in the history window ending at `end` (unix seconds).
    pub async fn namespaces(&self, end: i64) -> Result<Vec<String>, HistoryError> {
        if let Some(ns) = &self.config.namespace {
            return Ok(vec![ns.clone()]);
        }
        let query = self.config.namespaces_query();
        let result = self
            .client
            .query(&query)
            .at(end)
            .timeout(self.config.query_timeout.as_millis() as i64)
            .get()
            .await
            .map_err(|source| HistoryError::Query {
                query: query.clone(),
                source,
            })?;
        let mut namespaces: Vec<String> = result
            .data()
            .as_vector()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.metric().get(&self.config.namespace_label).cloned())
                    .collect()
            })
            .unwrap_or_default();
        namespaces.sort();
        namespaces.dedup();
        Ok(namespaces)
    }

    /// Streams every CPU and memory sample of the window ending at `end` (unix seconds) into
    /// `sink`, namespace by namespace and slice by slice, oldest first within each series.
    pub async fn load(
        &self,
        end: i64,
        mut sink: impl FnMut(HistorySample),
    ) -> Result<LoadStats, HistoryError> {
        let mut stats = LoadStats::default();
        for namespace in self.namespaces(end).await? {
            for (from, to) in self.config.slices(end) {
                for resource in [HistoryResource::Cpu, HistoryResource::Memory] {
                    let query = match resource {
                        HistoryResource::Cpu => self.config.cpu_query(Some(&namespace)),
                        HistoryResource::Memory => self.config.memory_query(Some(&namespace)),
                    };
                    self.load_range(&query, resource, from, to, &mut stats, &mut sink)
                        .await?;
                }
            }
        }
        Ok(stats)
    }

    async fn load_range(
        &self,
        query: &str,
        resource: HistoryResource,
        from: i64,
        to: i64,
        stats: &mut LoadStats,
        sink: &mut impl FnMut(HistorySample),
    ) -> Result<(), HistoryError> {
        let step = self.config.resolution.as_secs().max(1) as f64;
        let result = self
            .client
            .query_range(query, from, to, step)
            .timeout(self.config.query_timeout.as_millis() as i64)
            .get()
            .await
            .map_err(|source| HistoryError::Query {
                query: query.to_string(),
                source,
            })?;
        stats.queries += 1;
        let (data, _) = result.into_inner();
        let Some(matrix) = data.into_matrix().ok() else {
            return Ok(());
        };
        for series in matrix {
            let (labels, samples) = series.into_inner();
            let label = |name: &str| labels.get(name).cloned().unwrap_or_default();
            let (namespace, pod, container) = (
                label(&self.config.namespace_label),
                label(&self.config.pod_label),
                label(&self.config.container_label),
            );
            stats.series += 1;
            for s in samples {
                if !s.value().is_finite() || s.value() < 0.0 {
                    continue;
                }
                stats.samples += 1;
                sink(HistorySample {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    container: container.clone(),
                    resource,
                    timestamp: s.timestamp() as i64,
                    value: s.value(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matches_upstream_with_namespace_filter() {
        let cfg = HistoryConfig::default();
        assert_eq!(
            cfg.selector(None),
            r#"job="kubernetes-cadvisor", pod_name=~".+", name!="POD", name!="""#
        );
        assert_eq!(
            cfg.cpu_query(Some("shop")),
            r#"rate(container_cpu_usage_seconds_total{job="kubernetes-cadvisor", pod_name=~".+", name!="POD", name!="", namespace="shop"}[3600s])"#
        );
        assert!(
            cfg.memory_query(Some("a\"b"))
                .contains(r#"namespace="a\"b""#)
        );
    }

    #[test]
    fn eight_days_hourly_fit_in_one_slice() {
        let cfg = HistoryConfig::default();
        let slices = cfg.slices(1_000_000);
        assert_eq!(slices, vec![(1_000_000 - 8 * 24 * 3600, 1_000_000)]);
    }

    #[test]
    fn fine_resolution_is_split_below_the_point_limit_without_gaps_or_overlap() {
        let cfg = HistoryConfig {
            resolution: Duration::from_secs(60),
            ..HistoryConfig::default()
        };
        let end = 2_000_000_000;
        let slices = cfg.slices(end);
        assert!(
            slices.len() >= 2,
            "8 days at 1 minute is 11,521 points: must be split"
        );
        assert_eq!(slices[0].0, end - 8 * 24 * 3600);
        assert_eq!(slices.last().unwrap().1, end);
        for (from, to) in &slices {
            assert!(
                (to - from) / 60 < MAX_POINTS_PER_SERIES,
                "slice of {} points",
                (to - from) / 60 + 1
            );
        }
        for pair in slices.windows(2) {
            assert_eq!(
                pair[1].0,
                pair[0].1 + 60,
                "next slice starts one step after the previous ends"
            );
        }
    }

    #[test]
    fn configured_slice_bounds_each_query() {
        let cfg = HistoryConfig {
            slice: Some(Duration::from_secs(24 * 3600)),
            ..HistoryConfig::default()
        };
        let slices = cfg.slices(10 * 24 * 3600);
        assert_eq!(slices.len(), 8);
        assert!(slices.iter().all(|(a, b)| b - a <= 24 * 3600));
    }
}
