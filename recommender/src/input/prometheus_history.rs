//! Loads usage history from Prometheus at start (edge), in bounded chunks.
//!
//! Upstream asks Prometheus for the whole history window in one range query per resource: on big
//! clusters the answer does not fit in memory, and with fine resolutions Prometheus refuses it
//! (more than 11,000 points per series). We split the work per namespace and per time slice
//! (each slice at most [`MAX_POINTS_PER_SERIES`] steps), hand every sample to a caller-supplied
//! sink as soon as its slice arrives, and keep nothing: memory stays flat whatever the history
//! length. Query building and slice planning are pure and unit-tested; only `PrometheusHistory`
//! talks to the network.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_http_query::Client;
use prometheus_http_query::response::PromqlResult;

mod answer;

pub use answer::{AnswerError, decode_answer, range_samples};

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
    /// The answer to a query is not a Prometheus API response.
    #[error("Prometheus answered {query} with HTTP {status} and no readable result: {source}")]
    Answer {
        /// The PromQL sent.
        query: String,
        /// The HTTP status of the answer.
        status: u16,
        /// Why its body could not be read.
        source: AnswerError,
    },
}

/// Told of every answered Prometheus request (upstream's `prometheus_client_api_requests_*`):
/// its HTTP status, its method in lower case, and the time to the answer's headers, seconds.
/// Requests that get no answer (connection errors) are not told, as Go's `promhttp` counts them.
pub trait RequestObserver: Send + Sync {
    /// One answered request.
    fn answered(&self, code: u16, method: &'static str, seconds: f64);
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
    observer: Option<Arc<dyn RequestObserver>>,
}

impl PrometheusHistory {
    /// A source for `config.address`, using the given HTTP client (for auth and TLS settings).
    pub fn new(http: reqwest::Client, config: HistoryConfig) -> Result<Self, HistoryError> {
        let client =
            Client::from(http, &config.address).map_err(|source| HistoryError::Address {
                address: config.address.clone(),
                source,
            })?;
        Ok(Self {
            client,
            config,
            observer: None,
        })
    }

    /// Tells `observer` of every answered request.
    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sends one GET `request` for `query`, tells the observer, and reads the answer.
    async fn answer(
        &self,
        query: &str,
        request: impl Future<Output = Result<reqwest::Response, prometheus_http_query::Error>>,
    ) -> Result<PromqlResult, HistoryError> {
        let started = Instant::now();
        let response = request.await.map_err(|source| HistoryError::Query {
            query: query.to_owned(),
            source,
        })?;
        let status = response.status().as_u16();
        if let Some(observer) = &self.observer {
            observer.answered(status, "get", started.elapsed().as_secs_f64());
        }
        let answer = match response.bytes().await {
            Ok(body) => decode_answer(&body).map_err(AnswerError::Decode),
            Err(e) => Err(AnswerError::Body(e)),
        };
        match answer {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(e)) => Err(HistoryError::Query {
                query: query.to_owned(),
                source: prometheus_http_query::Error::Prometheus(e),
            }),
            Err(source) => Err(HistoryError::Answer {
                query: query.to_owned(),
                status,
                source,
            }),
        }
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
        let request = self
            .client
            .query(&query)
            .at(end)
            .timeout(self.config.query_timeout.as_millis() as i64)
            .get_raw();
        let result = self.answer(&query, request).await?;
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
        let request = self
            .client
            .query_range(query, from, to, step)
            .timeout(self.config.query_timeout.as_millis() as i64)
            .get_raw();
        let result = self.answer(query, request).await?;
        stats.queries += 1;
        range_samples(result, resource, &self.config, stats, sink);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
