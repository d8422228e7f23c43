//! Edges that feed the engine: live usage from metrics.k8s.io, OOM kills, and usage history from
//! Prometheus.

pub mod list_items;
pub mod metrics;
pub mod oom;
pub mod pod;
pub mod prometheus_history;
pub mod snapshot;
pub mod vpa;
pub mod watches;

/// One live usage measurement of one container, in the engine's units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerUsage {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// Start of the measurement window, unix seconds.
    pub measure_start: i64,
    /// CPU usage, millicores (rounded up).
    pub cpu_millicores: i64,
    /// Memory working set, bytes.
    pub memory_bytes: i64,
}
