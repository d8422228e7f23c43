//! Defaulting of built-in kinds, as kube-apiserver applies it on every write: the fields
//! clients and controllers commonly read back (pod restart/DNS policies, container pull policy
//! and ports, workload replicas and strategies, service type). One function per kind, named by
//! the kind's record in the built-in table (`ResourceInfo::defaults`). Pure.

use serde_json::{Value, json};

fn set(v: &mut Value, key: &str, default: Value) {
    if let Some(m) = v.as_object_mut() {
        m.entry(key.to_string()).or_insert(default);
    }
}

fn pod_spec(spec: &mut Value) {
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let tag = image
                .rsplit('/')
                .next()
                .and_then(|last| last.split_once(':'))
                .map(|(_, t)| t.to_string());
            let pull = if tag.is_none() || tag.as_deref() == Some("latest") {
                "Always"
            } else {
                "IfNotPresent"
            };
            set(c, "imagePullPolicy", json!(pull));
            set(c, "terminationMessagePath", json!("/dev/termination-log"));
            set(c, "terminationMessagePolicy", json!("File"));
            set(c, "resources", json!({}));
            for p in c
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                set(p, "protocol", json!("TCP"));
            }
        }
    }
}

fn template(spec: &mut Value) {
    if let Some(t) = spec.pointer_mut("/template/spec") {
        pod_spec(t);
    }
}

/// A ReplicationController's selector and labels default to its template's labels (its selector
/// is a plain map, not a LabelSelector).
fn replication_controller_labels(obj: &mut Value) {
    let Some(labels) = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
        .cloned()
    else {
        return;
    };
    let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
    if empty(obj.pointer("/spec/selector")) {
        obj["spec"]["selector"] = labels.clone();
    }
    if empty(obj.pointer("/metadata/labels")) {
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        obj["metadata"]["labels"] = labels;
    }
}

/// Each webhook of a Mutating/ValidatingWebhookConfiguration: the admissionregistration/v1
/// defaults (`matchPolicy: Equivalent`, `failurePolicy: Fail`, 10 s, match-all selectors, rule
/// scope `*`; `reinvocationPolicy: Never` when mutating).
fn webhooks(obj: &mut Value, mutating: bool) {
    for w in obj
        .get_mut("webhooks")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set(w, "matchPolicy", json!("Equivalent"));
        set(w, "failurePolicy", json!("Fail"));
        set(w, "timeoutSeconds", json!(10));
        set(w, "namespaceSelector", json!({}));
        set(w, "objectSelector", json!({}));
        if mutating {
            set(w, "reinvocationPolicy", json!("Never"));
        }
        for r in w
            .get_mut("rules")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            set(r, "scope", json!("*"));
        }
    }
}

/// A workload's `spec` when it is an object.
fn spec_of(obj: &mut Value) -> Option<&mut Value> {
    obj.get_mut("spec").filter(|s| s.is_object())
}

/// A Pod: its spec's defaults and `status.phase: Pending`.
pub(crate) fn pod(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    pod_spec(spec);
    if obj.pointer("/status/phase").is_none() {
        if !obj.get("status").is_some_and(Value::is_object) {
            obj["status"] = json!({});
        }
        obj["status"]["phase"] = json!("Pending");
    }
}

/// A Deployment: one replica, rolling updates of 25%, and its pod template's defaults.
pub(crate) fn deployment(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set(spec, "replicas", json!(1));
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    set(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    );
    template(spec);
}

/// A ReplicaSet or StatefulSet: one replica and its pod template's defaults.
pub(crate) fn replicated(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set(spec, "replicas", json!(1));
    template(spec);
}

/// A ReplicationController: one replica, its pod template's defaults, and selector and labels
/// from the template.
pub(crate) fn replication_controller(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set(spec, "replicas", json!(1));
    template(spec);
    replication_controller_labels(obj);
}

/// A DaemonSet or Job: its pod template's defaults.
pub(crate) fn templated(obj: &mut Value) {
    if let Some(spec) = spec_of(obj) {
        template(spec);
    }
}

/// A HorizontalPodAutoscaler: one replica at least, and 80% average CPU without metrics.
pub(crate) fn horizontal_pod_autoscaler(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set(spec, "minReplicas", json!(1));
    // An HPA without metrics targets 80% average CPU utilization.
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
}

/// A Service: `ClusterIP`, no session affinity, TCP ports targeting themselves.
pub(crate) fn service(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else {
        return;
    };
    set(spec, "type", json!("ClusterIP"));
    set(spec, "sessionAffinity", json!("None"));
    for p in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set(p, "protocol", json!("TCP"));
        let port = p.get("port").cloned().unwrap_or(Value::Null);
        set(p, "targetPort", port);
    }
}

/// A MutatingWebhookConfiguration's webhooks.
pub(crate) fn mutating_webhooks(obj: &mut Value) {
    webhooks(obj, true)
}

/// A ValidatingWebhookConfiguration's webhooks.
pub(crate) fn validating_webhooks(obj: &mut Value) {
    webhooks(obj, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Registry;

    /// The defaults the built-in table gives `kind`, applied to `obj`.
    fn apply(kind: &str, obj: &mut Value) {
        let registry = Registry::builtin();
        let info = registry.all().find(|r| r.kind == kind).unwrap();
        (info.defaults.expect("a defaulted kind"))(obj);
    }

    #[test]
    fn pods_and_deployments_get_the_usual_defaults() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "reg:5000/x:1.2", "ports": [{"containerPort": 80}]}]}});
        apply("Pod", &mut pod);
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(
            pod["spec"]["containers"][1]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod["spec"]["containers"][1]["ports"][0]["protocol"], "TCP");
        assert_eq!(pod["status"]["phase"], "Pending");
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i:1"}]}}}});
        apply("Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn replication_controllers_take_selector_and_labels_from_the_template() {
        let mut rc = json!({"metadata": {"name": "r"}, "spec": {"template": {"metadata": {"labels": {"app": "r"}},
            "spec": {"containers": [{"name": "a", "image": "i:1"}]}}}});
        apply("ReplicationController", &mut rc);
        assert_eq!(rc["spec"]["replicas"], 1);
        assert_eq!(rc["spec"]["selector"], json!({"app": "r"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "r"}));
        let mut own = json!({"metadata": {"labels": {"x": "y"}}, "spec": {"selector": {"app": "s"},
            "template": {"metadata": {"labels": {"app": "s", "v": "1"}}}}});
        apply("ReplicationController", &mut own);
        assert_eq!(own["spec"]["selector"], json!({"app": "s"}));
        assert_eq!(own["metadata"]["labels"], json!({"x": "y"}));
    }

    #[test]
    fn horizontal_pod_autoscalers_default_to_one_replica_and_80_percent_cpu() {
        let mut hpa = json!({"spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "d"}}});
        apply("HorizontalPodAutoscaler", &mut hpa);
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
    }
}
