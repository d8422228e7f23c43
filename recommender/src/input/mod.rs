//! Edges that feed the engine: usage history from Prometheus (and, with the service, live metrics).

pub mod prometheus_history;
