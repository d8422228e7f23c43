//! The computed cells of the built-in kinds' tables (pure), as kube-apiserver's printers show
//! them: a pod's READY and STATUS, a Deployment's READY, an HPA's TARGETS, and so on. Each is a
//! [`super::Compute`] named in the kind's record of the built-in table.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::age::age;

fn count<F: Fn(&Value) -> bool>(v: &Value, ptr: &str, f: F) -> usize {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|x| f(x)).count())
        .unwrap_or(0)
}

/// A pod's READY: ready containers of all containers.
pub(crate) fn pod_ready(o: &Value, _now: DateTime<Utc>) -> Value {
    let total = count(o, "/spec/containers", |_| true);
    let ready = count(o, "/status/containerStatuses", |c| c["ready"] == true);
    json!(format!("{ready}/{total}"))
}

/// A pod's STATUS: Terminating, a waiting container's reason, or the phase.
pub(crate) fn pod_status(o: &Value, _now: DateTime<Utc>) -> Value {
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return json!("Terminating");
    }
    let waiting = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find_map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str))
        });
    json!(
        waiting
            .or(o.pointer("/status/phase").and_then(Value::as_str))
            .unwrap_or("Pending")
    )
}

/// A pod's RESTARTS: the containers' restart counts summed.
pub(crate) fn pod_restarts(o: &Value, _now: DateTime<Utc>) -> Value {
    json!(
        o.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .map(|cs| cs
                .iter()
                .filter_map(|c| c["restartCount"].as_i64())
                .sum::<i64>())
            .unwrap_or(0)
    )
}

/// A Deployment's READY: ready replicas of desired.
pub(crate) fn deployment_ready(o: &Value, _now: DateTime<Utc>) -> Value {
    let num = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    json!(format!(
        "{}/{}",
        num("/status/readyReplicas"),
        num("/spec/replicas")
    ))
}

/// A node's STATUS: Ready or NotReady.
pub(crate) fn node_status(o: &Value, _now: DateTime<Utc>) -> Value {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True");
    json!(if ready { "Ready" } else { "NotReady" })
}

/// A node's ROLES: none (the simulated nodes have no role labels).
pub(crate) fn node_roles(_o: &Value, _now: DateTime<Utc>) -> Value {
    json!("<none>")
}

/// An HPA's REFERENCE: `Kind/name` of its scale target.
pub(crate) fn hpa_reference(o: &Value, _now: DateTime<Utc>) -> Value {
    json!(format!(
        "{}/{}",
        o.pointer("/spec/scaleTargetRef/kind")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        o.pointer("/spec/scaleTargetRef/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    ))
}

/// An HPA's TARGETS.
pub(crate) fn hpa_targets(o: &Value, _now: DateTime<Utc>) -> Value {
    json!(hpa_targets_text(o))
}

/// An EndpointSlice's PORTS.
pub(crate) fn slice_ports(o: &Value, _now: DateTime<Utc>) -> Value {
    let ports: Vec<String> = o["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["port"].as_i64().map(|n| n.to_string()))
        .collect();
    json!(if ports.is_empty() {
        "<unset>".to_string()
    } else {
        ports.join(",")
    })
}

/// An EndpointSlice's ENDPOINTS: the first three addresses and how many more.
pub(crate) fn slice_endpoints(o: &Value, _now: DateTime<Utc>) -> Value {
    let addrs: Vec<&str> = o["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    json!(match addrs.len() {
        0 => "<unset>".to_string(),
        n if n > 3 => format!("{} + {} more...", addrs[..3].join(","), n - 3),
        _ => addrs.join(","),
    })
}

/// A Service's PORT(S): `port/protocol` each.
pub(crate) fn service_ports(o: &Value, _now: DateTime<Utc>) -> Value {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect()
        })
        .unwrap_or_default();
    json!(if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    })
}

/// The DATA of a ConfigMap or Secret: how many keys it holds.
pub(crate) fn data_count(o: &Value, _now: DateTime<Utc>) -> Value {
    json!(
        o.get("data")
            .and_then(Value::as_object)
            .map(|m| m.len())
            .unwrap_or(0)
            + o.get("binaryData")
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
    )
}

/// An Event's LAST SEEN: the age of its last timestamp, event time or creation.
pub(crate) fn event_last_seen(o: &Value, now: DateTime<Utc>) -> Value {
    age(
        o.get("lastTimestamp")
            .filter(|v| !v.is_null())
            .or(o.get("eventTime"))
            .or(o.pointer("/metadata/creationTimestamp")),
        now,
    )
}

/// An Event's OBJECT: `kind/name` of the object it is about.
pub(crate) fn event_object(o: &Value, _now: DateTime<Utc>) -> Value {
    json!(format!(
        "{}/{}",
        o.pointer("/involvedObject/kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        o.pointer("/involvedObject/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    ))
}

/// An HPA's TARGETS cell: each Resource metric as `<name>: <current>/<target>`, with
/// `<unknown>` while the status carries no current value.
fn hpa_targets_text(o: &Value) -> String {
    let current = |name: &str| {
        o.pointer("/status/currentMetrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|m| m.pointer("/resource/name").and_then(Value::as_str) == Some(name))
            .and_then(|m| m.pointer("/resource/current").cloned())
    };
    let parts: Vec<String> = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let Some(res) = m.get("resource") else {
                return format!("{}: <unknown>", m["type"].as_str().unwrap_or("metric"));
            };
            let name = res["name"].as_str().unwrap_or_default();
            let target = &res["target"];
            let (want, have) = match target["averageUtilization"].as_i64() {
                Some(pct) => (
                    format!("{pct}%"),
                    current(name)
                        .and_then(|c| c["averageUtilization"].as_i64())
                        .map(|c| format!("{c}%")),
                ),
                None => (
                    target["averageValue"]
                        .as_str()
                        .or(target["value"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                    current(name).and_then(|c| {
                        c["averageValue"]
                            .as_str()
                            .or(c["value"].as_str())
                            .map(String::from)
                    }),
                ),
            };
            format!(
                "{name}: {}/{want}",
                have.unwrap_or_else(|| "<unknown>".into())
            )
        })
        .collect();
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}
