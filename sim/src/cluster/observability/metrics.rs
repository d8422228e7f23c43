//! Publishing usage (edge): PodMetrics/NodeMetrics in `metrics.k8s.io` as metrics-server would
//! serve them (written straight into the store: the group is read-only over HTTP), and the
//! cAdvisor-style Prometheus page on a plain loopback port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::exposition::{self, ContainerSeries};
use crate::api::Shared;
use crate::resource::GroupResource;
use crate::store::DeleteOptions;

/// Usage of one container at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerUsage {
    /// Container name.
    pub name: String,
    /// CPU, cores.
    pub cpu_cores: f64,
    /// Working set, bytes.
    pub memory_bytes: f64,
}

/// The `usage` map of metrics.k8s.io: CPU in nanocores (`n`), memory in KiB (`Ki`), as
/// metrics-server formats them.
pub fn usage_json(cpu_cores: f64, memory_bytes: f64) -> Value {
    json!({"cpu": format!("{}n", (cpu_cores * 1e9).round() as i64), "memory": format!("{}Ki", (memory_bytes / 1024.0).round() as i64)})
}

fn put(
    shared: &Shared,
    resource: &str,
    namespace: &str,
    name: &str,
    mut obj: Value,
    window_secs: f64,
) {
    let gr = GroupResource::new("metrics.k8s.io", resource);
    let store = &shared.store;
    obj["apiVersion"] = json!("metrics.k8s.io/v1beta1");
    obj["metadata"] = if namespace.is_empty() {
        json!({"name": name})
    } else {
        json!({"name": name, "namespace": namespace})
    };
    obj["timestamp"] = json!(store.now());
    obj["window"] = json!(format!("{window_secs:.3}s"));
    let result = match store.get(&gr, namespace, name) {
        Some(_) => store
            .update(&gr, namespace, name, obj, None, false)
            .map(drop),
        None => store
            .create(&gr, !namespace.is_empty(), obj, false)
            .map(drop),
    };
    if let Err(error) = result {
        tracing::debug!(%error, %name, "Metrics not stored");
    }
}

/// Replaces every PodMetrics and NodeMetrics with `pods` ((namespace, pod) → containers) and
/// `nodes` (node → (cores, bytes)); objects of pods and nodes no longer listed are removed.
pub fn publish(
    shared: &Shared,
    pods: &[((String, String), Vec<ContainerUsage>)],
    nodes: &[(String, f64, f64)],
    window_secs: f64,
) {
    for ((ns, pod), containers) in pods {
        let cs: Vec<Value> = containers
            .iter()
            .map(|c| json!({"name": c.name, "usage": usage_json(c.cpu_cores, c.memory_bytes)}))
            .collect();
        put(
            shared,
            "pods",
            ns,
            pod,
            json!({"kind": "PodMetrics", "containers": cs}),
            window_secs,
        );
    }
    for (node, cpu, memory) in nodes {
        put(
            shared,
            "nodes",
            "",
            node,
            json!({"kind": "NodeMetrics", "usage": usage_json(*cpu, *memory)}),
            window_secs,
        );
    }
    let gr = GroupResource::new("metrics.k8s.io", "pods");
    for old in shared.store.list(&gr, None, None, 0, |_| true).items {
        if !pods
            .iter()
            .any(|((ns, p), _)| ns == old.namespace() && p == old.name())
        {
            let _ =
                shared
                    .store
                    .delete(&gr, old.namespace(), old.name(), &DeleteOptions::default());
        }
    }
}

/// The latest container series, shared between the kubelet and the `/metrics` page.
pub type SeriesBoard = Arc<Mutex<Vec<ContainerSeries>>>;

/// Serves `GET /metrics` (Prometheus text format) on 127.0.0.1:`port` until `stop` fires.
pub async fn serve(
    port: u16,
    board: SeriesBoard,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let board = board.clone();
            async move {
                let page = exposition::render(&board.lock().unwrap_or_else(|e| e.into_inner()));
                ([("content-type", "text/plain; version=0.0.4")], page)
            }
        }),
    );
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(%error, "Metrics server stopped");
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_formatted_like_metrics_server() {
        assert_eq!(
            usage_json(0.5, 62914560.0),
            json!({"cpu": "500000000n", "memory": "61440Ki"})
        );
    }
}
