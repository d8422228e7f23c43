//! End-to-end scenarios on either backend (`VPA_E2E_BACKEND=sim|kube`), each what a platform team
//! would try first on a real cluster: the CRDs and their rules, validation through the webhook,
//! a PodDisruptionBudget that blocks eviction, in-place resize through `pods/resize`, leader
//! election with a failover, and checkpoints that survive a recommender restart.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::{Backend, Env, Options, hamster_requests, identity};

/// Short loops so each scenario takes seconds (minutes on the real control plane).
fn fast() -> Options {
    Options {
        recommender_args: vec!["--recommender-interval=3s".into()],
        updater_args: vec!["--updater-interval=3s".into()],
        admission_args: vec!["--status-lease-update-interval=1s".into()],
    }
}

/// Writes `text` to a file and runs `kubectl apply -f` on it; the whole output.
async fn apply(env: &Env, text: &str) -> std::process::Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    env.kubectl(&[
        "apply",
        "-n",
        "default",
        "-f",
        file.path().to_str().unwrap(),
    ])
    .await
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn hamster_names(env: &Env) -> BTreeSet<String> {
    env.hamster_pods()
        .await
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// The two running hamster pods' names, once there are two.
async fn two_hamsters(env: &Env) -> BTreeSet<String> {
    env.two_hamsters()
        .await
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Pod names of a component, from `kubectl get pods -l app=<component>`.
async fn component_pods(env: &Env, component: &str) -> Vec<String> {
    let list = env
        .get_json(&[
            "pods",
            "-n",
            "kube-system",
            "-l",
            &format!("app={component}"),
        ])
        .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

const BAD_BOOST: &str = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: bad-boost}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: hamster}
  startupBoost:
    cpu: {type: Factor}
"#;

const BAD_MODE: &str = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: bad-mode}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: hamster}
  updatePolicy: {updateMode: Sometimes}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crds_are_structural_and_their_rules_run_in_the_api_server() {
    let Some(env) = Env::start_bare().await else {
        return;
    };
    let crds = vpa_e2e::repo_root().join("deploy/crds");
    env.kubectl_ok(&["apply", "-f", crds.to_str().unwrap()])
        .await;
    env.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/verticalpodautoscalers.autoscaling.k8s.io",
        "crd/verticalpodautoscalercheckpoints.autoscaling.k8s.io",
    ])
    .await;
    // The API server accepted the schemas as structural (it refuses others outright) and
    // evaluates their CEL rules and enums; no webhook is installed yet.
    let boost = apply(&env, BAD_BOOST).await;
    assert!(
        !boost.status.success(),
        "a Factor boost without a factor was accepted"
    );
    assert!(
        stderr(&boost).contains("factor is required when type is Factor"),
        "{}",
        stderr(&boost)
    );
    let mode = apply(&env, BAD_MODE).await;
    assert!(!mode.status.success(), "updateMode Sometimes was accepted");
    assert!(
        stderr(&mode).contains("updateMode") && stderr(&mode).contains("Sometimes"),
        "{}",
        stderr(&mode)
    );
    let hamster = vpa_e2e::repo_root().join("examples/hamster.yaml");
    env.kubectl_ok(&["apply", "-n", "default", "-f", hamster.to_str().unwrap()])
        .await;
    // And the real install command over it.
    let deploy = vpa_e2e::repo_root().join("deploy");
    let out = env
        .kubectl_ok(&["apply", "-k", deploy.to_str().unwrap()])
        .await;
    for kind in [
        "customresourcedefinition.apiextensions.k8s.io/verticalpodautoscalers.autoscaling.k8s.io",
        "deployment.apps/vpa-recommender",
        "deployment.apps/vpa-updater",
        "deployment.apps/vpa-admission-controller",
        "poddisruptionbudget.policy/vpa-admission-controller",
    ] {
        assert!(
            out.contains(kind),
            "kubectl apply -k deploy/ did not apply {kind}:\n{out}"
        );
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vpa_validation_and_hpa_warnings_come_through_the_webhook() {
    let Some(env) = Env::start(fast()).await else {
        return;
    };
    env.wait_components().await;
    let bad = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: min-over-max}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: hamster}
  resourcePolicy:
    containerPolicies:
    - {containerName: "*", minAllowed: {cpu: "2"}, maxAllowed: {cpu: "1"}}
"#;
    let out = apply(&env, bad).await;
    assert!(!out.status.success(), "min over max was accepted");
    assert!(
        stderr(&out).contains("max resource for cpu is lower than min"),
        "{}",
        stderr(&out)
    );
    let hpa = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: hamster}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: hamster}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"#;
    assert!(apply(&env, hpa).await.status.success());
    let vpa = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: with-hpa}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: hamster}
  updatePolicy: {updateMode: Recreate}
"#;
    // The admission controller learns of the HPA from its watch; each apply is a fresh review.
    let warning = env
        .eventually(
            "the HPA warning on a VPA update",
            Duration::from_secs(20),
            || async {
                let out = apply(&env, vpa).await;
                let err = stderr(&out);
                (out.status.success() && err.contains("HorizontalPodAutoscaler hamster"))
                    .then_some(err)
            },
        )
        .await;
    assert!(warning.contains("Warning:"), "{warning}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pod_disruption_budget_blocks_eviction() {
    let Some(env) = Env::start(fast()).await else {
        return;
    };
    env.wait_components().await;
    let pdb = r#"
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: hamster}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: hamster}}
"#;
    assert!(apply(&env, pdb).await.status.success());
    env.apply_hamster().await;
    let original = two_hamsters(&env).await;
    if env.backend == Backend::Kube {
        // The real disruption controller computes the budget into the status, which the
        // eviction API then reads (the sim decides at eviction time instead).
        env.eventually(
            "the disruption controller's verdict: no disruption allowed",
            Duration::from_secs(20),
            || async {
                let p = env.get_json(&["pdb", "-n", "default", "hamster"]).await;
                (p["status"]["currentHealthy"] == 2 && p["status"]["disruptionsAllowed"] == 0)
                    .then_some(())
            },
        )
        .await;
    }
    env.eventually("a recommendation", Duration::from_secs(30), || {
        env.hamster_target()
    })
    .await;
    let updater = identity("vpa-updater");
    env.eventually(
        "the updater trying to evict",
        Duration::from_secs(30),
        || async {
            env.audit_records()
                .iter()
                .any(|r| r.user == updater && r.subresource == "eviction")
                .then_some(())
        },
    )
    .await;
    // More loops: every attempt is refused, and the pods stay.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(hamster_names(&env).await, original, "{}", env.logs());
    let deleted = env
        .audit_records()
        .into_iter()
        .filter(|r| r.resource == "pods" && r.verb == "delete" && r.namespace == "default")
        .count();
    assert_eq!(deleted, 0, "no hamster pod was deleted");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_place_resize_goes_through_the_resize_subresource() {
    let Some(env) = Env::start(fast()).await else {
        return;
    };
    env.wait_components().await;
    let hamster = std::fs::read_to_string(vpa_e2e::repo_root().join("examples/hamster.yaml"))
        .unwrap()
        .replace("updateMode: Recreate", "updateMode: InPlaceOrRecreate");
    assert!(apply(&env, &hamster).await.status.success());
    let original = two_hamsters(&env).await;
    let (cpu, _) = env
        .eventually("a recommendation", Duration::from_secs(30), || {
            env.hamster_target()
        })
        .await;
    let resized: Vec<Value> = env
        .eventually(
            "both hamster pods resized in place to the target",
            Duration::from_secs(45),
            || async {
                let pods = env.hamster_pods().await;
                // The kubelet's side (the sim's, or the stand-in for KWOK) reports it done: the
                // container status resources follow the spec.
                let near = |c: f64| (c - cpu).abs() <= cpu * 0.05;
                let done = pods.len() == 2
                    && pods.iter().all(|p| {
                        let status_cpu = support::quantity(
                            &p["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"],
                        );
                        original.contains(p["metadata"]["name"].as_str().unwrap())
                            && hamster_requests(p).is_some_and(|(c, _)| near(c))
                            && status_cpu.is_some_and(near)
                    });
                done.then_some(pods)
            },
        )
        .await;
    assert_eq!(resized.len(), 2);
    let updater = identity("vpa-updater");
    let records = env.audit_records();
    assert!(
        records.iter().any(|r| r.user == updater
            && r.subresource == "resize"
            && r.verb == "patch"
            && r.allowed),
        "the updater patched pods/resize"
    );
    assert!(
        !records
            .iter()
            .any(|r| r.user == updater && r.subresource == "eviction"),
        "nothing was evicted"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_election_fails_over_to_the_second_replica() {
    let mut opts = fast();
    // Each replica listens on its own pod address (the overlay's explicit 127.0.0.1 port would
    // be taken by the first), and a short lease, so the failover takes seconds.
    opts.recommender_args.extend([
        "--address=:8942".to_string(),
        "--leader-elect".to_string(),
        "--leader-elect-lease-duration=6s".to_string(),
        "--leader-elect-renew-deadline=4s".to_string(),
        "--leader-elect-retry-period=1s".to_string(),
    ]);
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.kubectl_ok(&[
        "scale",
        "-n",
        "kube-system",
        "deploy/vpa-recommender",
        "--replicas=2",
    ])
    .await;
    env.wait_available("kube-system", "vpa-recommender", 2)
        .await;
    let holder = || async {
        let lease = env
            .kubectl(&[
                "get",
                "lease",
                "-n",
                "kube-system",
                "vpa-recommender-lease",
                "-o",
                "json",
            ])
            .await;
        let v: Value = serde_json::from_slice(&lease.stdout).ok()?;
        let id = v["spec"]["holderIdentity"].as_str()?.to_string();
        Some(id)
    };
    let first = env
        .eventually("a leader", Duration::from_secs(30), holder)
        .await;
    let pods = component_pods(&env, "vpa-recommender").await;
    let leader_pod = pods
        .iter()
        .find(|p| first.starts_with(p.as_str()))
        .unwrap_or_else(|| panic!("the holder {first} is one of {pods:?}"))
        .clone();
    env.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "kube-system",
        &leader_pod,
        "--wait=false",
    ])
    .await;
    let second = env
        .eventually(
            "the lease taken over by the other replica",
            Duration::from_secs(30),
            || async {
                let id = holder().await?;
                (!id.starts_with(leader_pod.as_str())).then_some(id)
            },
        )
        .await;
    // The standby, or the ReplicaSet's replacement if it started first: a live replica either way.
    let live = component_pods(&env, "vpa-recommender").await;
    assert!(
        live.iter().any(|p| second.starts_with(p.as_str())),
        "the new holder {second} is a live replica ({live:?})"
    );
    // The new leader does the work: the hamster gets a recommendation.
    env.apply_hamster().await;
    env.eventually(
        "a recommendation from the new leader",
        Duration::from_secs(30),
        || env.hamster_target(),
    )
    .await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkpoints_are_restored_after_a_recommender_restart() {
    let Some(env) = Env::start(fast()).await else {
        return;
    };
    env.wait_components().await;
    env.apply_hamster().await;
    env.wait_exists(
        "the hamster checkpoint",
        &[
            "verticalpodautoscalercheckpoint",
            "-n",
            "default",
            "hamster-vpa-hamster",
        ],
    )
    .await;
    let old = component_pods(&env, "vpa-recommender").await;
    assert_eq!(old.len(), 1, "{old:?}");
    env.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "kube-system",
        &old[0],
        "--wait=false",
    ])
    .await;
    let log = env
        .eventually(
            "the new recommender restoring the checkpoint",
            Duration::from_secs(40),
            || async {
                let pods = component_pods(&env, "vpa-recommender").await;
                let new = pods.iter().find(|p| **p != old[0])?;
                let log = env.pod_log(new);
                log.contains("Restored checkpoints restored=1")
                    .then_some(log)
            },
        )
        .await;
    assert!(log.contains("restored=1"), "{log}");
    env.shutdown().await;
}
