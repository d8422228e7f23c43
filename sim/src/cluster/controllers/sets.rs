//! StatefulSet, DaemonSet and Job controllers' decisions (pure): ordinal pods with stable names,
//! one pod per node, and pods run to `completions`.

use serde_json::{Value, json};

use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{
    int_at, is_active, is_ready, meta, owned_by, phase, pod_from_template, random_suffix,
    template_hash,
};

fn status_action(kind: Kind, owner: &Value, status: Value) -> Option<Action> {
    (owner.get("status") != Some(&status)).then(|| {
        Action::Status(
            kind,
            meta(owner, "namespace").into(),
            meta(owner, "name").into(),
            status,
        )
    })
}

fn delete(pod: &Value) -> Action {
    Action::Delete(
        Kind::Pod,
        meta(pod, "namespace").into(),
        meta(pod, "name").into(),
    )
}

/// StatefulSet: pods `<name>-<ordinal>`; with `OrderedReady` (the default) one at a time in
/// order, each once the previous is Ready; template changes roll from the highest ordinal down.
pub fn plan_stateful_set(s: &Value, all_pods: &[Value]) -> Vec<Action> {
    let name = meta(s, "name");
    let desired = int_at(s, "/spec/replicas", 1);
    let revision = format!("{name}-{}", template_hash(&s["spec"]["template"]));
    let parallel = s.pointer("/spec/podManagementPolicy") == Some(&json!("Parallel"));
    let pods: Vec<&Value> = owned_by(s, all_pods)
        .into_iter()
        .filter(|p| is_active(p))
        .collect();
    let by_ordinal = |i: i64| {
        pods.iter()
            .copied()
            .find(|p| meta(p, "name") == format!("{name}-{i}"))
    };
    let mut actions = Vec::new();
    for i in 0..desired {
        match by_ordinal(i) {
            Some(p) if is_ready(p) || parallel => continue,
            Some(_) => break,
            None => {
                let pod_name = format!("{name}-{i}");
                let labels = json!({"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name, "apps.kubernetes.io/pod-index": i.to_string()});
                let mut pod = pod_from_template(s, &s["spec"]["template"], &pod_name, &labels);
                pod["spec"]["hostname"] = json!(pod_name);
                actions.push(Action::Create(Kind::Pod, pod));
                if !parallel {
                    break;
                }
            }
        }
    }
    let mut extra: Vec<&&Value> = pods
        .iter()
        .filter(|p| ordinal(meta(p, "name"), name).is_none_or(|i| i >= desired))
        .collect();
    extra.sort_by_key(|p| std::cmp::Reverse(ordinal(meta(p, "name"), name)));
    for p in extra.iter().take(if parallel { usize::MAX } else { 1 }) {
        actions.push(delete(p));
    }
    let all_ready = (0..desired).all(|i| by_ordinal(i).is_some_and(is_ready));
    if actions.is_empty() && all_ready {
        let stale = (0..desired).rev().filter_map(by_ordinal).find(|p| {
            p.pointer("/metadata/labels/controller-revision-hash") != Some(&json!(revision))
        });
        if let Some(p) = stale {
            actions.push(delete(p));
        }
    }
    let count = |f: &dyn Fn(&Value) -> bool| pods.iter().filter(|p| f(p)).count();
    let updated = count(&|p| {
        p.pointer("/metadata/labels/controller-revision-hash") == Some(&json!(revision))
    });
    let ready = count(&|p| is_ready(p));
    let status = json!({
        "observedGeneration": int_at(s, "/metadata/generation", 1), "replicas": pods.len(),
        "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": updated,
        "updatedReplicas": updated, "currentRevision": revision, "updateRevision": revision,
        "collisionCount": 0,
    });
    actions.extend(status_action(Kind::StatefulSet, s, status));
    actions
}

fn ordinal(pod: &str, set: &str) -> Option<i64> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

/// DaemonSet: one pod per Ready node, pinned with `spec.nodeName`; pods on vanished nodes go.
pub fn plan_daemon_set(ds: &Value, all_pods: &[Value], nodes: &[Value]) -> Vec<Action> {
    let pods: Vec<&Value> = owned_by(ds, all_pods)
        .into_iter()
        .filter(|p| is_active(p))
        .collect();
    let on = |node: &str| {
        pods.iter()
            .copied()
            .find(|p| p.pointer("/spec/nodeName") == Some(&json!(node)))
    };
    let hash = template_hash(&ds["spec"]["template"]);
    let mut actions = Vec::new();
    for node in nodes {
        let node_name = meta(node, "name");
        match on(node_name) {
            Some(p)
                if p.pointer("/metadata/labels/controller-revision-hash") != Some(&json!(hash))
                    && is_ready(p) =>
            {
                actions.push(delete(p));
            }
            Some(_) => {}
            None => {
                let name = format!("{}-{}", meta(ds, "name"), random_suffix());
                let labels = json!({"controller-revision-hash": hash});
                let mut pod = pod_from_template(ds, &ds["spec"]["template"], &name, &labels);
                pod["spec"]["nodeName"] = json!(node_name);
                actions.push(Action::Create(Kind::Pod, pod));
            }
        }
    }
    let node_names: Vec<&str> = nodes.iter().map(|n| meta(n, "name")).collect();
    for p in &pods {
        let node = p
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !node_names.contains(&node) {
            actions.push(delete(p));
        }
    }
    let scheduled = pods.len();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let updated = pods
        .iter()
        .filter(|p| p.pointer("/metadata/labels/controller-revision-hash") == Some(&json!(hash)))
        .count();
    let status = json!({
        "observedGeneration": int_at(ds, "/metadata/generation", 1),
        "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": scheduled,
        "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
        "numberMisscheduled": 0, "numberUnavailable": nodes.len().saturating_sub(ready),
    });
    actions.extend(status_action(Kind::DaemonSet, ds, status));
    actions
}

/// Job: keeps up to `parallelism` pods running until `completions` pods succeeded (Complete) or
/// more than `backoffLimit` failed (Failed); `now` (RFC 3339) stamps the completion.
pub fn plan_job(job: &Value, all_pods: &[Value], now: &str) -> Vec<Action> {
    let pods = owned_by(job, all_pods);
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active = pods.iter().filter(|p| is_active(p)).count() as i64;
    let parallelism = int_at(job, "/spec/parallelism", 1);
    let completions = int_at(job, "/spec/completions", 1);
    let backoff_limit = int_at(job, "/spec/backoffLimit", 6);
    let done = succeeded >= completions;
    let gave_up = failed > backoff_limit;
    let mut actions = Vec::new();
    if !done && !gave_up {
        let want = parallelism.min(completions - succeeded);
        for _ in active..want {
            let name = format!("{}-{}", meta(job, "name"), random_suffix());
            let labels = json!({"batch.kubernetes.io/job-name": meta(job, "name"), "job-name": meta(job, "name"),
                "batch.kubernetes.io/controller-uid": meta(job, "uid"), "controller-uid": meta(job, "uid")});
            actions.push(Action::Create(
                Kind::Pod,
                pod_from_template(job, &job["spec"]["template"], &name, &labels),
            ));
        }
    }
    let mut status = json!({"active": active, "succeeded": succeeded, "failed": failed, "ready": pods.iter().filter(|p| is_ready(p)).count()});
    let keep = |field: &str| job.pointer(&format!("/status/{field}")).cloned();
    status["startTime"] =
        keep("startTime").unwrap_or_else(|| json!(meta(job, "creationTimestamp")));
    if done {
        status["conditions"] = json!([
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"}]);
        status["completionTime"] = keep("completionTime").unwrap_or_else(|| json!(now));
    } else if gave_up {
        status["conditions"] = json!([
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]);
    }
    actions.extend(status_action(Kind::Job, job, status));
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::objects::controller_ref;

    const T: &str = "2026-01-01T00:00:00Z";

    fn owner(kind: &str, extra: Value) -> Value {
        let mut o = json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "s", "namespace": "ns", "uid": "u"},
            "spec": {"template": {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": []}}}});
        for (k, v) in extra.as_object().unwrap() {
            o["spec"][k] = v.clone();
        }
        o
    }

    fn pod(o: &Value, name: &str, ready: bool, extra_labels: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "labels": extra_labels, "ownerReferences": [controller_ref(o)]},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
    }

    fn created(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Create(_, p) => Some(meta(p, "name").to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn stateful_sets_create_ordinals_in_order_once_the_previous_is_ready() {
        let s = owner("StatefulSet", json!({"replicas": 3}));
        assert_eq!(created(&plan_stateful_set(&s, &[])), ["s-0"]);
        assert!(created(&plan_stateful_set(&s, &[pod(&s, "s-0", false, json!({}))])).is_empty());
        assert_eq!(
            created(&plan_stateful_set(&s, &[pod(&s, "s-0", true, json!({}))])),
            ["s-1"]
        );
        let parallel = owner(
            "StatefulSet",
            json!({"replicas": 3, "podManagementPolicy": "Parallel"}),
        );
        assert_eq!(
            created(&plan_stateful_set(&parallel, &[])),
            ["s-0", "s-1", "s-2"]
        );
    }

    #[test]
    fn stateful_sets_replace_stale_revisions_from_the_top() {
        let s = owner("StatefulSet", json!({"replicas": 2}));
        let old = json!({"controller-revision-hash": "s-old"});
        let actions = plan_stateful_set(
            &s,
            &[pod(&s, "s-0", true, old.clone()), pod(&s, "s-1", true, old)],
        );
        assert!(
            actions.contains(&Action::Delete(Kind::Pod, "ns".into(), "s-1".into())),
            "{actions:?}"
        );
    }

    #[test]
    fn daemon_sets_run_one_pinned_pod_per_node() {
        let ds = owner("DaemonSet", json!({}));
        let nodes = [
            json!({"metadata": {"name": "n1"}}),
            json!({"metadata": {"name": "n2"}}),
        ];
        let hash = template_hash(&ds["spec"]["template"]);
        let actions = plan_daemon_set(
            &ds,
            &[pod(
                &ds,
                "s-a",
                true,
                json!({"controller-revision-hash": hash}),
            )],
            &nodes,
        );
        let pods: Vec<&Value> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Create(_, p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["spec"]["nodeName"], "n2");
    }

    #[test]
    fn jobs_run_until_completions_succeed() {
        let job = owner("Job", json!({"completions": 2, "parallelism": 2}));
        assert_eq!(created(&plan_job(&job, &[], T)).len(), 2);
        let mut done = pod(&job, "j-a", false, json!({}));
        done["status"]["phase"] = json!("Succeeded");
        let actions = plan_job(&job, &[done.clone(), done], T);
        assert!(created(&actions).is_empty());
        let Some(Action::Status(_, _, _, status)) = actions.last() else {
            panic!("{actions:?}")
        };
        assert_eq!(status["succeeded"], 2);
        assert_eq!(status["conditions"][1]["type"], "Complete");
    }
}
