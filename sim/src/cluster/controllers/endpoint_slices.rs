//! The EndpointSlice controller's decision (pure): a Service with a selector gets one
//! `discovery.k8s.io/v1` EndpointSlice (IPv4), labelled with `kubernetes.io/service-name` and
//! managed by `endpointslice-controller.k8s.io`, owned by the Service, listing each active pod
//! that has an IP with its `ready`/`serving` conditions, and the Service's ports resolved on the
//! pods (named target ports looked up in the containers).

use serde_json::{Value, json};

use super::endpoints::{service_selector, target_port};
use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{controller_ref, is_active, is_ready, meta, random_suffix};

/// The label naming a slice's Service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages a slice.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on the slices this controller writes.
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";

/// The EndpointSlice writes for `svc`: create one, replace it when its endpoints or ports
/// changed, and delete any extra slices of the Service; nothing for a selector-less Service.
pub fn plan_endpoint_slices(svc: &Value, pods: &[Value], current: &[Value]) -> Vec<Action> {
    let Some(selector) = service_selector(svc) else {
        return Vec::new();
    };
    let ns = meta(svc, "namespace");
    let name = meta(svc, "name");
    let mut endpoints = Vec::new();
    let mut ports: Option<Vec<Value>> = None;
    for pod in pods
        .iter()
        .filter(|p| meta(p, "namespace") == ns && is_active(p))
        .filter(|p| selector.matches(p.pointer("/metadata/labels")))
    {
        let Some(ip) = pod.pointer("/status/podIP").and_then(Value::as_str) else {
            continue;
        };
        let ready = is_ready(pod);
        let mut e = json!({"addresses": [ip],
            "conditions": {"ready": ready, "serving": ready, "terminating": false},
            "targetRef": {"kind": "Pod", "namespace": ns, "name": meta(pod, "name"), "uid": meta(pod, "uid")}});
        if let Some(node) = pod.pointer("/spec/nodeName").filter(|n| n.is_string()) {
            e["nodeName"] = node.clone();
        }
        endpoints.push(e);
        ports.get_or_insert_with(|| slice_ports(svc, pod));
    }
    endpoints.sort_by(|a, b| {
        a["targetRef"]["name"]
            .as_str()
            .cmp(&b["targetRef"]["name"].as_str())
    });
    let ports = ports.unwrap_or_default();
    let mut owned: Vec<&Value> = current
        .iter()
        .filter(|s| {
            meta(s, "namespace") == ns
                && s.pointer(&label_pointer(SERVICE_NAME)) == Some(&json!(name))
                && s.pointer(&label_pointer(MANAGED_BY)) == Some(&json!(CONTROLLER))
        })
        .collect();
    owned.sort_by_key(|s| meta(s, "name").to_string());
    let mut actions: Vec<Action> = owned
        .iter()
        .skip(1)
        .map(|s| Action::Delete(Kind::EndpointSlice, ns.into(), meta(s, "name").into()))
        .collect();
    let mut labels = svc["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[SERVICE_NAME] = json!(name);
    labels[MANAGED_BY] = json!(CONTROLLER);
    let slice_name = owned.first().map_or_else(
        || format!("{name}-{}", random_suffix()),
        |s| meta(s, "name").to_string(),
    );
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": slice_name, "namespace": ns, "labels": labels, "ownerReferences": [controller_ref(svc)]},
        "addressType": "IPv4", "endpoints": endpoints, "ports": ports});
    match owned.first() {
        None => actions.push(Action::Create(Kind::EndpointSlice, slice)),
        Some(cur) if !same(cur, &slice) => {
            actions.push(Action::Replace(Kind::EndpointSlice, slice))
        }
        Some(_) => {}
    }
    actions
}

fn label_pointer(key: &str) -> String {
    format!(
        "/metadata/labels/{}",
        key.replace('~', "~0").replace('/', "~1")
    )
}

/// The Service's ports as slice ports, target ports resolved on `pod`.
fn slice_ports(svc: &Value, pod: &Value) -> Vec<Value> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = target_port(p, pod)?;
            Some(
                json!({"name": p.get("name").cloned().unwrap_or(json!("")), "port": port,
                "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))}),
            )
        })
        .collect()
}

/// Whether a stored slice already says what `want` says (endpoints, ports, labels).
fn same(cur: &Value, want: &Value) -> bool {
    let list = |v: &Value, k: &str| match v.get(k) {
        None | Some(Value::Null) => json!([]),
        Some(x) => x.clone(),
    };
    list(cur, "endpoints") == list(want, "endpoints")
        && list(cur, "ports") == list(want, "ports")
        && cur["addressType"] == want["addressType"]
        && cur["metadata"]["labels"] == want["metadata"]["labels"]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"port": 9090}]}})
    }

    fn pod(name: &str, ip: &str, ready: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"), "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": ready}]}})
    }

    #[test]
    fn a_service_gets_one_labelled_owned_slice_with_conditions_and_ports() {
        let pods = [pod("b", "10.0.0.2", "False"), pod("a", "10.0.0.1", "True")];
        let actions = plan_endpoint_slices(&svc(), &pods, &[]);
        let [Action::Create(Kind::EndpointSlice, slice)] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        assert!(meta(slice, "name").starts_with("web-"));
        assert_eq!(
            slice["metadata"]["labels"],
            json!({"team": "a", SERVICE_NAME: "web", MANAGED_BY: CONTROLLER})
        );
        assert_eq!(slice["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(slice["endpoints"][0]["addresses"], json!(["10.0.0.1"]));
        assert_eq!(slice["endpoints"][0]["conditions"]["ready"], true);
        assert_eq!(slice["endpoints"][1]["conditions"]["ready"], false);
        assert_eq!(slice["endpoints"][1]["targetRef"]["name"], "b");
        assert_eq!(
            slice["ports"],
            json!([{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "", "port": 9090, "protocol": "TCP"}])
        );
        // Up to date: nothing; a pod turning ready: the slice is replaced under its name.
        assert!(plan_endpoint_slices(&svc(), &pods, std::slice::from_ref(slice)).is_empty());
        let pods = [pod("b", "10.0.0.2", "True"), pod("a", "10.0.0.1", "True")];
        let actions = plan_endpoint_slices(&svc(), &pods, std::slice::from_ref(slice));
        let [Action::Replace(Kind::EndpointSlice, new)] = actions.as_slice() else {
            panic!("{actions:?}")
        };
        assert_eq!(meta(new, "name"), meta(slice, "name"));
        assert_eq!(new["endpoints"][1]["conditions"]["ready"], true);
    }

    #[test]
    fn extra_slices_go_and_selector_less_services_get_none() {
        let current: Vec<Value> = ["web-aaaaa", "web-bbbbb"]
            .iter()
            .map(|n| json!({"metadata": {"name": n, "namespace": "ns",
                "labels": {"team": "a", SERVICE_NAME: "web", MANAGED_BY: CONTROLLER}}, "addressType": "IPv4", "endpoints": [], "ports": []}))
            .collect();
        let actions = plan_endpoint_slices(&svc(), &[], &current);
        assert_eq!(
            actions,
            [Action::Delete(
                Kind::EndpointSlice,
                "ns".into(),
                "web-bbbbb".into()
            )]
        );
        let mut headless = svc();
        headless["spec"].as_object_mut().unwrap().remove("selector");
        assert!(plan_endpoint_slices(&headless, &[pod("a", "10.0.0.1", "True")], &[]).is_empty());
    }
}
