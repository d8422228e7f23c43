//! Differential fidelity of vpa-sim: one fixed list of requests (kubectl as a user types them, and
//! kube-rs as our components send them) runs against vpa-sim and the real kube-apiserver; what
//! must differ (uids, timestamps, resourceVersions, generated names, ages) is normalised away, and
//! any other difference fails the test unless `tests/sim-differences.yaml` lists that probe with
//! its reason. A listed probe that no longer differs fails too, so the list stays true.
//!
//! Needs the real control plane: it runs with `VPA_E2E_BACKEND=kube` (it starts the sim itself).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, EvictParams, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use support::{Backend, Env};

/// The outcome of one probe, normalised.
type Outcome = Value;

/// Fields that differ between any two clusters.
const VOLATILE: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "time",
];

/// Drops volatile fields everywhere, and generated pod and ReplicaSet name suffixes.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for k in VOLATILE {
                map.remove(k);
            }
            if let Some(Value::Object(ann)) = map.get_mut("annotations") {
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
                ann.remove("deployment.kubernetes.io/revision");
                if ann.is_empty() {
                    map.remove("annotations");
                }
            }
            if let Some(Value::String(c)) = map.get_mut("continue")
                && !c.is_empty()
            {
                *c = "<token>".into();
            }
            for (_, x) in map.iter_mut() {
                normalise(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        Value::String(s) => *s = normalise_text(s),
        _ => {}
    }
}

/// Ages (`5s`, `2m10s`) and generated name suffixes in text output.
fn normalise_text(s: &str) -> String {
    s.split('\n')
        .map(|line| {
            line.split_inclusive(char::is_whitespace)
                .map(|w| {
                    let t = w.trim_end();
                    let tail = &w[t.len()..];
                    let is_age = !t.is_empty()
                        && t.chars().all(|c| c.is_ascii_digit() || "smhd".contains(c))
                        && t.chars().any(|c| c.is_ascii_digit())
                        && t.chars().last().is_some_and(|c| "smhd".contains(c));
                    if is_age {
                        format!("<age>{tail}")
                    } else {
                        w.to_string()
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A kubectl run as an outcome: exit success, stdout (JSON parsed when it is JSON), and the
/// first line of stderr (the error a user reads).
fn outcome(out: std::process::Output) -> Outcome {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut body = serde_json::from_str::<Value>(&stdout).unwrap_or(Value::String(stdout));
    normalise(&mut body);
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| !l.starts_with("Warning:"))
        .unwrap_or_default()
        .to_string();
    json!({"ok": out.status.success(), "out": body, "err": normalise_text(&err)})
}

async fn kubectl(env: &Env, args: &[&str]) -> Outcome {
    outcome(env.kubectl(args).await)
}

async fn apply_text(env: &Env, args: &[&str], text: &str) -> Outcome {
    outcome(env.kubectl_with_manifest(args, text).await)
}

fn kube_result<T: serde::Serialize>(r: Result<T, kube::Error>) -> Outcome {
    match r {
        Ok(v) => {
            let mut v = serde_json::to_value(v).unwrap();
            normalise(&mut v);
            json!({"ok": true, "out": v})
        }
        Err(kube::Error::Api(s)) => {
            json!({"ok": false, "code": s.code, "reason": s.reason, "message": s.message})
        }
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

const NS: &str = "fidelity";

const VPA: &str = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: web-vpa, namespace: fidelity}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  updatePolicy: {updateMode: "Off"}
"#;

/// Every probe, in order (later ones build on earlier ones), against one backend.
async fn probes(env: &Env) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    let n = ["-n", NS];
    macro_rules! k {
        ($name:expr, $($a:expr),+) => {{
            let mut args: Vec<&str> = vec![$($a),+];
            args.extend(n);
            out.insert($name.to_string(), kubectl(env, &args).await);
        }};
    }
    out.insert(
        "create namespace".into(),
        kubectl(env, &["create", "namespace", NS, "-o", "name"]).await,
    );
    k!(
        "create configmap",
        "create",
        "configmap",
        "cm1",
        "--from-literal=a=1",
        "-o",
        "json"
    );
    k!(
        "create configmap again (409)",
        "create",
        "configmap",
        "cm1",
        "--from-literal=a=1"
    );
    k!("get configmap", "get", "configmap", "cm1", "-o", "json");
    k!("get missing (404)", "get", "configmap", "nope");
    k!(
        "merge patch",
        "patch",
        "configmap",
        "cm1",
        "--type=merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
        "-o",
        "json"
    );
    k!(
        "json patch",
        "patch",
        "configmap",
        "cm1",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/a"}]"#,
        "-o",
        "json"
    );
    k!(
        "json patch of a missing path (422)",
        "patch",
        "configmap",
        "cm1",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/zzz"}]"#
    );
    k!("label", "label", "configmap", "cm1", "team=a");
    k!(
        "create second configmap",
        "create",
        "configmap",
        "cm2",
        "--from-literal=c=3",
        "-o",
        "name"
    );
    k!(
        "label selector",
        "get",
        "configmap",
        "-l",
        "team=a",
        "-o",
        "name"
    );
    k!(
        "field selector",
        "get",
        "configmap",
        "--field-selector",
        "metadata.name=cm2",
        "-o",
        "name"
    );
    k!("invalid name (422)", "create", "configmap", "Bad_Name");
    out.insert(
        "list page 1".into(),
        kubectl(
            env,
            &[
                "get",
                "--raw",
                &format!(
                    "/api/v1/namespaces/{NS}/configmaps?limit=1&labelSelector=!kubernetes.io%2Fname"
                ),
            ],
        )
        .await,
    );
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: applied, namespace: {NS}}}\ndata: {{x: \"1\"}}\n"
    );
    out.insert(
        "server-side apply".into(),
        apply_text(env, &["apply", "--server-side", "-o", "json"], &cm).await,
    );
    out.insert(
        "server-side apply conflict (409)".into(),
        apply_text(
            env,
            &["apply", "--server-side", "--field-manager=other"],
            &cm.replace("x: \"1\"", "x: \"2\""),
        )
        .await,
    );
    k!(
        "create deployment",
        "create",
        "deployment",
        "web",
        "--image=registry.k8s.io/pause:3.10",
        "--replicas=1",
        "-o",
        "name"
    );
    k!("scale", "scale", "deployment", "web", "--replicas=2");
    let _ = env
        .kubectl(&[
            "wait",
            "-n",
            NS,
            "--for=jsonpath={.status.replicas}=2",
            "--timeout=30s",
            "deploy/web",
        ])
        .await;
    out.insert(
        "scale subresource".into(),
        kubectl(
            env,
            &[
                "get",
                "--raw",
                &format!("/apis/apps/v1/namespaces/{NS}/deployments/web/scale"),
            ],
        )
        .await,
    );
    k!(
        "create pdb",
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--min-available=1",
        "-o",
        "name"
    );
    k!(
        "create quota",
        "create",
        "quota",
        "q",
        "--hard=pods=10",
        "-o",
        "name"
    );
    k!(
        "create service",
        "create",
        "service",
        "clusterip",
        "web",
        "--tcp=80:80",
        "-o",
        "name"
    );
    k!(
        "create job",
        "create",
        "job",
        "j",
        "--image=registry.k8s.io/pause:3.10",
        "-o",
        "name"
    );
    k!(
        "create cronjob",
        "create",
        "cronjob",
        "c",
        "--image=registry.k8s.io/pause:3.10",
        "--schedule=*/5 * * * *",
        "-o",
        "name"
    );
    k!(
        "autoscale",
        "autoscale",
        "deployment",
        "web",
        "--cpu-percent=50",
        "--min=1",
        "--max=3",
        "-o",
        "name"
    );
    out.insert(
        "priorityclasses".into(),
        kubectl(env, &["get", "priorityclasses", "-o", "name"]).await,
    );
    let crds = vpa_e2e::repo_root().join("deploy/crds");
    out.insert(
        "apply CRDs".into(),
        kubectl(env, &["apply", "-f", crds.to_str().unwrap()]).await,
    );
    let _ = env
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/verticalpodautoscalers.autoscaling.k8s.io",
        ])
        .await;
    out.insert(
        "create vpa".into(),
        apply_text(env, &["apply", "-o", "name"], VPA).await,
    );
    k!(
        "status subresource",
        "patch",
        "vpa",
        "web-vpa",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"spec":{"updatePolicy":{"updateMode":"Recreate"}},"status":{"conditions":[{"type":"RecommendationProvided","status":"False","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}"#,
        "-o",
        "json"
    );
    k!("table: vpa", "get", "vpa");
    k!("table: configmaps", "get", "configmaps", "cm1", "cm2");
    out.insert(
        "discovery: autoscaling.k8s.io".into(),
        kubectl(
            env,
            &[
                "api-resources",
                "--api-group=autoscaling.k8s.io",
                "--no-headers",
            ],
        )
        .await,
    );
    // kube-rs, as our components call the API.
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), NS);
    let list = cms.list(&ListParams::default().limit(1)).await.unwrap();
    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let mut watch = Box::pin(
        cms.watch(&WatchParams::default().timeout(5), &rv)
            .await
            .unwrap(),
    );
    let created = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "watched"}})).unwrap(),
        )
        .await;
    out.insert("kube-rs create".into(), kube_result(created));
    use futures::StreamExt;
    let first = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
    let event = match first {
        Ok(Some(Ok(WatchEvent::Added(cm)))) => json!({"added": cm.metadata.name}),
        Ok(Some(Ok(other))) => json!({"other": format!("{other:?}")}),
        other => json!({"none": format!("{other:?}")}),
    };
    out.insert("kube-rs watch from a resourceVersion".into(), event);
    // A watch from resourceVersion 1 before any compaction: the real server (etcd compacts every
    // 5 minutes) replays history rather than answering 410 Gone; after a compaction it is an
    // ERROR event whose message ends with the current resourceVersion (dropped here).
    let mut stale = Box::pin(
        cms.watch(&WatchParams::default().timeout(5), "1")
            .await
            .unwrap(),
    );
    let first = tokio::time::timeout(Duration::from_secs(10), stale.next()).await;
    let event = match first {
        Ok(Some(Ok(WatchEvent::Error(e)))) => json!({
            "error": {"code": e.code, "reason": e.reason, "message": e.message.split(" (").next()},
        }),
        Ok(Some(Err(kube::Error::Api(e)))) => json!({
            "api error": {"code": e.code, "reason": e.reason, "message": e.message.split(" (").next()},
        }),
        Ok(Some(Ok(other))) => json!({"other": format!("{other:?}")}),
        other => json!({"none": format!("{other:?}")}),
    };
    out.insert("kube-rs watch from resourceVersion 1".into(), event);
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), NS);
    let pod = env
        .eventually("a web pod", Duration::from_secs(20), || async {
            pods.list(&ListParams::default().labels("app=web"))
                .await
                .ok()?
                .items
                .into_iter()
                .next()
        })
        .await;
    let name = pod.metadata.name.unwrap_or_default();
    out.insert(
        "kube-rs eviction".into(),
        kube_result(pods.evict(&name, &EvictParams::default()).await.map(|_| ())),
    );
    out
}

/// `probe -> reason` from tests/sim-differences.yaml.
fn accepted() -> BTreeMap<String, String> {
    let path = vpa_e2e::repo_root().join("tests/sim-differences.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_saphyr::from_str(&text).unwrap();
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["probe"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sim_answers_as_the_real_api_server_does() {
    if Backend::from_env() != Backend::Kube {
        eprintln!(
            "needs the real control plane as the reference: run with VPA_E2E_BACKEND=kube (CI does)"
        );
        return;
    }
    let Some(real) = Env::start_bare_on(Backend::Kube).await else {
        return;
    };
    let Some(sim) = Env::start_bare_on(Backend::Sim).await else {
        return;
    };
    let want = probes(&real).await;
    let replayed = &want["kube-rs watch from resourceVersion 1"];
    assert!(
        replayed["other"] == "Added event",
        "the real server no longer replays uncompacted history: {replayed}"
    );
    let got = probes(&sim).await;
    let accepted = accepted();
    let mut failures = Vec::new();
    let dump = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    for (probe, real_outcome) in &want {
        let sim_outcome = got.get(probe).cloned().unwrap_or(Value::Null);
        let differs = sim_outcome != *real_outcome;
        match (differs, accepted.get(probe)) {
            (true, None) => failures.push(format!(
                "{probe}: the sim differs\n--- real:\n{}\n--- sim:\n{}",
                dump(real_outcome),
                dump(&sim_outcome)
            )),
            (false, Some(reason)) => failures.push(format!(
                "{probe}: listed as a difference ({reason}) but the sim now answers as the real API server: remove it from tests/sim-differences.yaml"
            )),
            _ => {}
        }
    }
    for probe in accepted.keys() {
        assert!(
            want.contains_key(probe),
            "tests/sim-differences.yaml lists an unknown probe {probe:?}"
        );
    }
    eprintln!(
        "{} probes, {} listed differences",
        want.len(),
        accepted.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} probes:\n\n{}",
        failures.len(),
        want.len(),
        failures.join("\n\n")
    );
    real.shutdown().await;
    sim.shutdown().await;
}
