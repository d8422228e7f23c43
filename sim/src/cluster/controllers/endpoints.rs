//! The Endpoints controller's decision (pure): a Service with a selector gets an Endpoints object
//! of the same name listing its pods' IPs, ready ones under `addresses`, the rest under
//! `notReadyAddresses`, with the Service's target ports (named ports resolved on the pods).

use serde_json::{Value, json};

use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{is_active, is_ready, meta};
use crate::selector::LabelSelector;

/// The port a Service port targets on `pod` (a named target port resolved in its containers).
pub(super) fn target_port(port: &Value, pod: &Value) -> Option<i64> {
    match port.get("targetPort") {
        None | Some(Value::Null) => port["port"].as_i64(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => pod
            .pointer("/spec/containers")?
            .as_array()?
            .iter()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .find(|p| p["name"] == json!(name))
            .and_then(|p| p["containerPort"].as_i64()),
        _ => None,
    }
}

/// The pod selector of Service `svc`; `None` for a selector-less Service, whose endpoints
/// are written by hand and left alone.
pub fn service_selector(svc: &Value) -> Option<LabelSelector> {
    let selector = svc
        .pointer("/spec/selector")
        .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))?;
    Some(LabelSelector::from_object(
        &json!({"matchLabels": selector}),
    ))
}

/// The Endpoints write (create or replace) for `svc`, or nothing when up to date or selector-less.
pub fn plan_endpoints(svc: &Value, pods: &[Value], current: &[Value]) -> Vec<Action> {
    let Some(selector) = service_selector(svc) else {
        return Vec::new();
    };
    let ns = meta(svc, "namespace");
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut ports = Vec::new();
    for pod in pods
        .iter()
        .filter(|p| meta(p, "namespace") == ns && is_active(p))
    {
        let Some(ip) = pod.pointer("/status/podIP").and_then(Value::as_str) else {
            continue;
        };
        if !selector.matches(pod.pointer("/metadata/labels")) {
            continue;
        }
        let address = json!({"ip": ip, "nodeName": pod["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": ns, "name": meta(pod, "name"), "uid": meta(pod, "uid")}});
        if is_ready(pod) {
            ready.push(address)
        } else {
            not_ready.push(address)
        }
        if ports.is_empty() {
            for p in svc
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(port) = target_port(p, pod) {
                    let mut e = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
                    if let Some(name) = p.get("name") {
                        e["name"] = name.clone();
                    }
                    ports.push(e);
                }
            }
        }
    }
    let subsets = if ready.is_empty() && not_ready.is_empty() {
        json!([])
    } else {
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        json!([subset])
    };
    let name = meta(svc, "name");
    let existing = current
        .iter()
        .find(|e| meta(e, "namespace") == ns && meta(e, "name") == name);
    let have = existing
        .and_then(|e| e.get("subsets"))
        .cloned()
        .unwrap_or(json!([]));
    if existing.is_some() && have == subsets {
        return Vec::new();
    }
    let object = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": svc["metadata"]["labels"]}, "subsets": subsets});
    vec![if existing.is_some() {
        Action::Replace(Kind::Endpoints, object)
    } else {
        Action::Create(Kind::Endpoints, object)
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_list_ready_and_unready_pods_with_resolved_ports() {
        let svc = json!({"metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
        let pod = |name: &str, ip: &str, ready: &str| {
            json!({"metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": ready}]}})
        };
        let pods = [pod("a", "10.0.0.1", "True"), pod("b", "10.0.0.2", "False")];
        let actions = plan_endpoints(&svc, &pods, &[]);
        let [Action::Create(Kind::Endpoints, ep)] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "10.0.0.1");
        assert_eq!(ep["subsets"][0]["notReadyAddresses"][0]["ip"], "10.0.0.2");
        assert_eq!(
            ep["subsets"][0]["ports"][0],
            json!({"name": "http", "port": 8080, "protocol": "TCP"})
        );
        assert!(plan_endpoints(&svc, &pods, std::slice::from_ref(ep)).is_empty());
    }
}
