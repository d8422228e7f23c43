//! End-to-end scenarios on either backend (`VPA_E2E_BACKEND=sim|kube`), each what a platform team
//! would try first on a real cluster: the CRDs and their rules, validation through the webhook,
//! a PodDisruptionBudget that blocks eviction, a fail-closed webhook that still lets its own
//! controller back in, in-place resize through `pods/resize` (also in the alpha `InPlace` mode,
//! which never evicts), a CPU startup boost scaled back once the pods are Ready, leader election
//! with a failover, and checkpoints that survive a recommender restart.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use support::{Backend, Env, Options, hamster_requests, identity, pod_names};

fn fast() -> Options {
    Options::fast()
}

/// `kubectl apply -n default -f` of a manifest given inline; the whole output.
async fn apply(env: &Env, text: &str) -> std::process::Output {
    env.kubectl_with_manifest(&["apply", "-n", "default"], text)
        .await
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn hamster_names(env: &Env) -> BTreeSet<String> {
    pod_names(&env.hamster_pods().await)
}

/// The two running hamster pods' names, once there are two.
async fn two_hamsters(env: &Env) -> BTreeSet<String> {
    pod_names(&env.two_hamsters().await)
}

/// The audit log shows the updater patching `pods/resize` and never evicting.
fn assert_resized_in_place_not_evicted(env: &Env) {
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
    env.wait_for_recommendation("a recommendation").await;
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

/// With `--webhook-failure-policy-fail` and no admission controller running, every pod creation
/// waits on a webhook that is not there, including the controller's own replacements: the
/// objectSelector on `vpa.k8s.io/webhook-ignore` (which deploy/ puts on its pods) lets those
/// through, so the controller comes back by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_policy_fail_cannot_lock_out_the_admission_controller() {
    let mut opts = fast();
    opts.admission_args
        .push("--webhook-failure-policy-fail=true".into());
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.wait_components().await;
    let scale = |n: &'static str| {
        let env = &env;
        async move {
            env.kubectl_ok(&[
                "scale",
                "-n",
                "kube-system",
                "deployment/vpa-admission-controller",
                &format!("--replicas={n}"),
            ])
            .await;
        }
    };
    scale("0").await;
    env.eventually(
        "no admission controller pod left",
        Duration::from_secs(30),
        || async {
            env.component_pods("vpa-admission-controller")
                .await
                .is_empty()
                .then_some(())
        },
    )
    .await;
    // The policy is in force: an ordinary pod is refused while the webhook is away.
    let out = env
        .kubectl(&[
            "run",
            "-n",
            "default",
            "refused",
            "--image=registry.k8s.io/pause:3.10",
        ])
        .await;
    assert!(
        !out.status.success(),
        "a pod was admitted without its webhook"
    );
    assert!(stderr(&out).contains("vpa.k8s.io"), "{}", stderr(&out));
    scale("1").await;
    env.wait_available("kube-system", "vpa-admission-controller", 1)
        .await;
    // And it serves again: pods are admitted once more.
    env.eventually(
        "an ordinary pod admitted again",
        Duration::from_secs(30),
        || async {
            env.kubectl(&[
                "run",
                "-n",
                "default",
                "admitted",
                "--image=registry.k8s.io/pause:3.10",
            ])
            .await
            .status
            .success()
            .then_some(())
        },
    )
    .await;
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
    let (cpu, _) = env.wait_for_recommendation("a recommendation").await;
    let resized = env
        .wait_hamsters_resized(
            &original,
            "both hamster pods resized in place to the target",
            near(cpu),
        )
        .await;
    assert_eq!(resized.len(), 2);
    assert_resized_in_place_not_evicted(&env);
    env.shutdown().await;
}

/// Whether `c` is within 5 % of `cpu`.
fn near(cpu: f64) -> impl Fn(f64) -> bool {
    move |c| (c - cpu).abs() <= cpu * 0.05
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_place_mode_resizes_without_evicting_and_follows_a_changed_recommendation() {
    // The alpha mode needs its gate in the admission controller (which otherwise rejects the
    // VPA) and in the updater (which otherwise leaves it alone).
    let mut opts = fast();
    opts.updater_args
        .push("--feature-gates=InPlace=true".into());
    opts.admission_args
        .push("--feature-gates=InPlace=true".into());
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.wait_components().await;
    let hamster = std::fs::read_to_string(vpa_e2e::repo_root().join("examples/hamster.yaml"))
        .unwrap()
        .replace("updateMode: Recreate", "updateMode: InPlace");
    let out = apply(&env, &hamster).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let original = two_hamsters(&env).await;
    env.wait_for_recommendation("a recommendation").await;
    // Each container burns half a core: the target is above 0.5 (however it moves while the
    // histogram fills), well clear of the 300m cap below.
    env.wait_hamsters_resized(
        &original,
        "both hamster pods resized in place to about half a core",
        |c| c > 0.4,
    )
    .await;

    // A lower cap changes the recommendation (the recommender caps its target to maxAllowed):
    // the same pods are resized again.
    let lower = r#"[{"op": "replace", "path": "/spec/resourcePolicy/containerPolicies/0/maxAllowed/cpu", "value": "300m"}]"#;
    env.kubectl_ok(&[
        "patch",
        "vpa",
        "-n",
        "default",
        "hamster-vpa",
        "--type=json",
        "-p",
        lower,
    ])
    .await;
    env.eventually(
        "the recommendation capped to 300m",
        Duration::from_secs(30),
        || async {
            let (target, _) = env.hamster_target().await?;
            ((target - 0.3).abs() < 1e-9).then_some(())
        },
    )
    .await;
    env.wait_hamsters_resized(
        &original,
        "both hamster pods resized again to 300m",
        near(0.3),
    )
    .await;

    assert_resized_in_place_not_evicted(&env);
    let updater = identity("vpa-updater");
    let resizes = env
        .audit_records()
        .iter()
        .filter(|r| {
            r.user == updater && r.subresource == "resize" && r.verb == "patch" && r.allowed
        })
        .count();
    assert!(resizes >= 4, "two resizes of each pod, got {resizes}");
    let events = env.get_json(&["events", "-n", "default"]).await;
    let resized_events = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "InPlaceResizedByVPA")
        .count();
    assert!(
        resized_events >= 4,
        "an InPlaceResizedByVPA event per resize, got {resized_events}"
    );
    env.shutdown().await;
}

/// Seconds the hamster stays boosted after it is Ready.
const BOOST_SECONDS: u64 = 10;

/// `examples/hamster.yaml` in mode Off with a factor-3 CPU startup boost of [`BOOST_SECONDS`].
fn boosted_hamster() -> String {
    let hamster = std::fs::read_to_string(vpa_e2e::repo_root().join("examples/hamster.yaml"))
        .unwrap()
        .replace(
            "  updatePolicy:\n    updateMode: Recreate\n",
            &format!(
                "  updatePolicy:\n    updateMode: \"Off\"\n  startupBoost:\n    \
                 cpu: {{type: Factor, factor: 3, durationSeconds: {BOOST_SECONDS}}}\n"
            ),
        );
    assert!(
        hamster.contains("startupBoost"),
        "the example changed shape"
    );
    hamster
}

/// The hamster container's CPU request in the pod spec, millicores.
fn hamster_cpu_millis(pod: &Value) -> Option<i64> {
    hamster_requests(pod).map(|(cpu, _)| (cpu * 1000.0).round() as i64)
}

/// The pod's Ready condition's transition time, when it is Ready.
fn ready_since(pod: &Value) -> Option<Timestamp> {
    let ready = pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")?;
    ready["lastTransitionTime"].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_startup_boost_is_applied_at_creation_and_scaled_back_once_ready() {
    let gate = "--feature-gates=CPUStartupBoost=true".to_string();
    let mut opts = fast();
    opts.admission_args.push(gate.clone());
    opts.updater_args.push(gate);
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.wait_components().await;
    assert!(apply(&env, &boosted_hamster()).await.status.success());
    let pods = env.two_hamsters().await;
    let original = pod_names(&pods);
    // Mode Off applies no recommendation: the pods' own 100m, tripled, recorded in the annotation.
    for p in &pods {
        assert_eq!(hamster_cpu_millis(p), Some(300), "{p}");
        assert_eq!(
            p["metadata"]["annotations"]["vpaCpuStartupBoost/hamster"],
            r#"{"requests":{"cpu":"100m","memory":"50Mi"},"limits":{}}"#
        );
    }
    let ready = env
        .eventually(
            "both hamster pods Ready",
            Duration::from_secs(30),
            || async {
                let pods = env.hamster_pods().await;
                let times: Option<Vec<_>> = pods.iter().map(ready_since).collect();
                times
                    .filter(|t| t.len() == 2)
                    .and_then(|t| t.into_iter().max())
            },
        )
        .await;
    // Well inside the boost, after the updater has looped at least once: still boosted.
    let since_ready = || Timestamp::now().duration_since(ready).as_secs_f64();
    let boost = BOOST_SECONDS as f64;
    let wait = boost / 2.0 - since_ready();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
    if since_ready() < boost - 1.0 {
        for p in env.hamster_pods().await {
            assert_eq!(
                hamster_cpu_millis(&p),
                Some(300),
                "unboosted too early: {p}"
            );
        }
    }
    let unboosted: Vec<Value> = env
        .eventually(
            "both hamster pods resized back to 100m in place",
            Duration::from_secs(45),
            || async {
                let pods = env.hamster_pods().await;
                let done =
                    pods.len() == 2 && pod_names(&pods) == original && pods.iter().all(|p| {
                        let status_cpu = support::quantity(
                            &p["status"]["containerStatuses"][0]["resources"]["requests"]["cpu"],
                        );
                        hamster_cpu_millis(p) == Some(100)
                            && status_cpu == Some(0.1)
                            && p["metadata"]["annotations"]["vpaCpuStartupBoost/hamster"].is_null()
                    });
                done.then_some(pods)
            },
        )
        .await;
    for p in &unboosted {
        assert_eq!(
            p["metadata"]["annotations"]["vpaInPlaceUpdated"], "true",
            "{p}"
        );
    }
    assert_resized_in_place_not_evicted(&env);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_election_fails_over_to_the_second_replica() {
    // A short lease, so the failover takes seconds.
    let opts = fast().recommender_leader_election(6);
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.scale_component("vpa-recommender", 2).await;
    let (_, leader_pod) = env.recommender_leader().await;
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
                let (id, _) = env.recommender_leader().await;
                (!id.starts_with(leader_pod.as_str())).then_some(id)
            },
        )
        .await;
    // The standby, or the ReplicaSet's replacement if it started first: a live replica either way.
    let live = env.component_pods("vpa-recommender").await;
    assert!(
        live.iter().any(|p| second.starts_with(p.as_str())),
        "the new holder {second} is a live replica ({live:?})"
    );
    // The new leader does the work: the hamster gets a recommendation.
    env.apply_hamster().await;
    env.wait_for_recommendation("a recommendation from the new leader")
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
    let old = env.component_pods("vpa-recommender").await;
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
                let pods = env.component_pods("vpa-recommender").await;
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

/// Deployment `NAME` with a container `app`, a native sidecar `proxy` (10m requested, 0.2 cores
/// used) and a plain init container `setup`, and its VPA in mode Initial; `RECOMMENDERS` is the
/// VPA's `recommenders` list.
const MESHED: &str = r#"
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: NAME-vpa}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: NAME}
  updatePolicy: {updateMode: Initial}
  recommenders: RECOMMENDERS
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 1
  selector: {matchLabels: {app: NAME}}
  template:
    metadata:
      labels: {app: NAME}
      annotations:
        sim.vpa.rs/cpu.app: "constant:0.5"
        sim.vpa.rs/memory.app: "constant:60Mi"
        sim.vpa.rs/cpu.proxy: "constant:0.2"
        sim.vpa.rs/memory.proxy: "constant:30Mi"
        kwok.x-k8s.io/usage-cpu: "500m"
        kwok.x-k8s.io/usage-memory: "60Mi"
    spec:
      initContainers:
      - name: setup
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: 10m, memory: 10Mi}}
      - name: proxy
        image: registry.k8s.io/pause:3.10
        restartPolicy: Always
        resources: {requests: {cpu: 10m, memory: 20Mi}}
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: 100m, memory: 50Mi}}
"#;

fn meshed(name: &str, recommenders: &str) -> String {
    MESHED
        .replace("NAME", name)
        .replace("RECOMMENDERS", recommenders)
}

/// The CPU target of container `container` in VPA `vpa`'s status, cores.
async fn cpu_target(env: &Env, vpa: &str, container: &str) -> Option<f64> {
    let vpa = env.get_json(&["vpa", "-n", "default", vpa]).await;
    let recs = vpa["status"]["recommendation"]["containerRecommendations"].as_array()?;
    let rec = recs.iter().find(|r| r["containerName"] == container)?;
    support::quantity(&rec["target"]["cpu"])
}

/// The running pods labelled `app=<app>`.
async fn running_pods(env: &Env, app: &str) -> Vec<Value> {
    let list = env
        .get_json(&["pods", "-n", "default", "-l", &format!("app={app}")])
        .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
        })
        .cloned()
        .collect()
}

/// CPU request of init container `name` of `pod`, cores.
fn init_cpu(pod: &Value, name: &str) -> Option<f64> {
    let c = pod["spec"]["initContainers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)?;
    support::quantity(&c["resources"]["requests"]["cpu"])
}

/// Deletes the running pod of `app` and returns its running replacement once the ReplicaSet has
/// made one (the admission controller patched it on creation).
async fn replaced_pod(env: &Env, app: &str) -> Value {
    let old = env
        .eventually(
            &format!("a running {app} pod"),
            Duration::from_secs(30),
            || async { running_pods(env, app).await.into_iter().next() },
        )
        .await;
    let old_name = old["metadata"]["name"].as_str().unwrap().to_string();
    env.kubectl_ok(&["delete", "pod", "-n", "default", &old_name, "--wait=false"])
        .await;
    env.eventually(
        &format!("a new {app} pod running"),
        Duration::from_secs(30),
        || async {
            running_pods(env, app)
                .await
                .into_iter()
                .find(|p| p["metadata"]["name"] != old_name.as_str())
        },
    )
    .await
}

/// Checks the admission controller's patch of `pod`: the sidecar `proxy` requests `cpu` cores
/// (±10 %), the plain init container `setup` keeps its 10m, and `proxy` is observed.
fn assert_sidecar_patched(pod: &Value, cpu: f64) {
    let proxy = init_cpu(pod, "proxy").unwrap();
    assert!(
        (proxy - cpu).abs() <= cpu * 0.1,
        "proxy requests {proxy}, recommended {cpu}: {pod}"
    );
    assert_eq!(init_cpu(pod, "setup"), Some(0.01), "setup untouched: {pod}");
    assert_eq!(
        pod["metadata"]["annotations"]["vpaObservedContainers"], "app, proxy",
        "{pod}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn native_sidecars_get_recommendations_and_patched_requests() {
    let gate = "--feature-gates=NativeSidecar=true".to_string();
    let mut options = fast();
    options.recommender_args.push(gate.clone());
    options.updater_args.push(gate.clone());
    options.admission_args.push(gate);
    let Some(env) = Env::start(options).await else {
        return;
    };
    env.wait_components().await;

    // The admission controller patches a new pod's sidecar from the VPA's recommendation: here
    // one written by hand for a VPA that names a recommender nobody runs.
    assert!(
        apply(&env, &meshed("manual", "[{name: manual}]"))
            .await
            .status
            .success()
    );
    env.wait_exists("the manual VPA", &["vpa", "-n", "default", "manual-vpa"])
        .await;
    let status = r#"{"status": {"recommendation": {"containerRecommendations": [
        {"containerName": "app", "target": {"cpu": "400m", "memory": "100Mi"}},
        {"containerName": "proxy", "target": {"cpu": "150m", "memory": "40Mi"}},
        {"containerName": "setup", "target": {"cpu": "1", "memory": "1Gi"}}]}}}"#;
    env.kubectl_ok(&[
        "patch",
        "vpa",
        "-n",
        "default",
        "manual-vpa",
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ])
    .await;
    assert_sidecar_patched(&replaced_pod(&env, "manual").await, 0.15);

    // The recommender recommends for the sidecar from its usage, and a new pod gets that.
    assert!(apply(&env, &meshed("meshed", "[]")).await.status.success());
    if !env.backend.reports_sidecar_usage() {
        env.mark("no sidecar usage on this backend (KWOK reports spec.containers only): recommendation part not run");
        env.shutdown().await;
        return;
    }
    let cpu = env
        .eventually(
            "a recommendation for the sidecar",
            Duration::from_secs(30),
            || cpu_target(&env, "meshed-vpa", "proxy"),
        )
        .await;
    // 0.2 cores at its histogram bucket's upper edge, plus the 15 % margin.
    assert!((0.22..=0.25).contains(&cpu), "proxy target {cpu}");
    assert_eq!(
        cpu_target(&env, "meshed-vpa", "setup").await,
        None,
        "a plain init container gets none"
    );
    let pod = replaced_pod(&env, "meshed").await;
    let now = cpu_target(&env, "meshed-vpa", "proxy").await.unwrap();
    assert_sidecar_patched(&pod, now);
    env.shutdown().await;
}
