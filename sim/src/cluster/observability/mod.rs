//! What the cluster reports: core/v1 Events (`events`), usage published as metrics.k8s.io
//! PodMetrics and NodeMetrics and served as a Prometheus page (`metrics`, the edge), and that
//! page's cAdvisor-style series (`exposition`, pure).

pub mod events;
pub mod exposition;
pub mod metrics;
