//! The simulated kube-scheduler (edge): binds each unassigned pod through the `binding`
//! subresource to the node [`scheduling::place`] picks, or marks it Unschedulable with a
//! `FailedScheduling` Event, as kube-scheduler does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::nodes::capacity_of;
use super::scheduling::{self, Amounts, Placement};
use crate::cluster::actions::Kind;
use crate::cluster::controllers::manager::list_all;
use crate::cluster::objects::{is_active, meta};
use crate::cluster::observability::events;

/// The scheduler's name in Events.
pub const COMPONENT: &str = "default-scheduler";

fn node_name(pod: &Value) -> &str {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Requests already placed on each node (millicores, bytes), from bound active pods.
pub fn used_by_node(pods: &[Value]) -> BTreeMap<String, Amounts> {
    let mut used: BTreeMap<String, Amounts> = BTreeMap::new();
    for p in pods
        .iter()
        .filter(|p| is_active(p) && !node_name(p).is_empty())
    {
        let Ok(pod) = serde_json::from_value::<Pod>(p.clone()) else {
            continue;
        };
        let r = scheduling::pod_requests(&pod);
        let e = used.entry(node_name(p).to_string()).or_default();
        e.cpu_millis += r.cpu_millis;
        e.memory_bytes += r.memory_bytes;
    }
    used
}

fn unschedulable_message(pod: &Value) -> Option<&str> {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
        .and_then(|c| c["message"].as_str())
}

/// One scheduling pass over every unassigned pod.
pub async fn schedule_once(client: &Client, now: &str) -> Result<(), kube::Error> {
    let pods = list_all(client, Kind::Pod).await?;
    let nodes: Vec<_> = list_all(client, Kind::Node)
        .await?
        .iter()
        .map(capacity_of)
        .collect();
    let mut used = used_by_node(&pods);
    let mut pending: Vec<&Value> = pods
        .iter()
        .filter(|p| is_active(p) && node_name(p).is_empty())
        .collect();
    pending.sort_by_key(|p| meta(p, "creationTimestamp").to_string());
    for p in pending {
        let Ok(pod) = serde_json::from_value::<Pod>(p.clone()) else {
            continue;
        };
        let request = scheduling::pod_requests(&pod);
        let (ns, name) = (meta(p, "namespace"), meta(p, "name"));
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        match scheduling::place(&nodes, &used, request) {
            Placement::Node(node) => {
                let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node}});
                match api
                    .create_subresource::<Value, Value>(
                        "binding",
                        name,
                        &PostParams::default(),
                        &binding,
                    )
                    .await
                {
                    Ok(_) => {
                        tracing::debug!(namespace = %ns, pod = %name, %node, "Bound pod");
                        let e = used.entry(node.clone()).or_default();
                        e.cpu_millis += request.cpu_millis;
                        e.memory_bytes += request.memory_bytes;
                        let msg = format!("Successfully assigned {ns}/{name} to {node}");
                        events::record(client, p, "Normal", "Scheduled", &msg, COMPONENT, now)
                            .await;
                    }
                    Err(error) => tracing::debug!(%error, pod = %name, "Binding failed"),
                }
            }
            Placement::Unschedulable(message) => {
                if unschedulable_message(p) == Some(message.as_str()) {
                    continue;
                }
                tracing::info!(namespace = %ns, pod = %name, %message, "Pod unschedulable");
                let cond = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastTransitionTime": now, "lastProbeTime": null});
                let mut conds: Vec<Value> = p
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                conds.retain(|c| c["type"] != "PodScheduled");
                conds.push(cond);
                let patch = json!({"status": {"phase": "Pending", "conditions": conds}});
                if let Err(error) = api
                    .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
                    .await
                {
                    tracing::debug!(%error, pod = %name, "Status update failed");
                }
                events::record(
                    client,
                    p,
                    "Warning",
                    "FailedScheduling",
                    &message,
                    COMPONENT,
                    now,
                )
                .await;
            }
        }
    }
    Ok(())
}
