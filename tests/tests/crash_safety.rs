//! Crash safety on either backend (`VPA_E2E_BACKEND=sim|kube`): each component killed with the
//! real `kill -9` at its worst moment, then judged by what an operator would check next.
//!
//! - The recommender leader killed while it writes checkpoints: the new leader restores at least
//!   99 % of the CPU history the killed one held at its last finished loop, and takes over within
//!   the lease duration plus one loop.
//! - The updater killed right after an eviction: after its restart no pod is evicted twice.
//! - The admission controller killed while a Deployment scales up: every pod is still created
//!   (`failurePolicy: Ignore`), none fails, and the webhook patches again once it is back.
//! - Corrupt and foreign-version checkpoints: skipped with a warning naming each one, the
//!   recommender keeps running, and it writes a good checkpoint over the corrupt one.
//!
//! The figures are printed (`--nocapture`) and recorded in RELIABILITY.md.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use support::{Env, Options, identity, logged_at, number};

/// Workloads of the recommender test: enough that writing their checkpoints at the client's
/// rate limit takes seconds, so the kill lands inside the writes.
const WORKLOADS: usize = 30;
/// The recommender's lease, as flags and in seconds.
const LEASE_SECONDS: u64 = 10;
/// The recommender's loop interval, seconds.
const INTERVAL_SECONDS: u64 = 2;

/// `n` Deployments `NAME-i` of one replica burning 0.3 cores, each with a VPA in `mode`.
fn workloads(name: &str, n: usize, mode: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {{name: {name}-{i}-vpa}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}-{i}}}
  updatePolicy: {{updateMode: "{mode}"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}-{i}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}-{i}}}}}
  template:
    metadata:
      labels: {{app: {name}-{i}}}
      annotations:
        sim.vpa.rs/cpu: "constant:0.3"
        sim.vpa.rs/memory: "constant:40Mi"
        kwok.x-k8s.io/usage-cpu: "300m"
        kwok.x-k8s.io/usage-memory: "40Mi"
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        resources: {{requests: {{cpu: 100m, memory: 50Mi}}}}
---
"#
            )
        })
        .collect()
}

/// Allowed API requests of `user` on `resource` (and `subresource`) with one of `verbs`.
fn requests(
    env: &Env,
    user: &str,
    resource: &str,
    subresource: &str,
    verbs: &[&str],
) -> Vec<String> {
    env.audit_records()
        .into_iter()
        .filter(|r| {
            r.allowed
                && r.user == user
                && r.resource == resource
                && r.subresource == subresource
                && verbs.contains(&r.verb.as_str())
        })
        .map(|r| r.name)
        .collect()
}

/// The checkpoint writes of the recommender so far.
fn checkpoint_writes(env: &Env) -> usize {
    requests(
        env,
        &identity("vpa-recommender"),
        "verticalpodautoscalercheckpoints",
        "",
        &["create", "patch"],
    )
    .len()
}

/// Lines of `log` containing `message`.
fn lines_with<'a>(log: &'a str, message: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(message)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recommender_leader_killed_mid_checkpoint_write_loses_no_history() {
    let mut opts = Options {
        recommender_args: vec![format!("--recommender-interval={INTERVAL_SECONDS}s")],
        ..Options::fast()
    }
    .recommender_leader_election(LEASE_SECONDS);
    opts.recommender_args.extend([
        // Five requests a second: the 30 checkpoints of a loop take six seconds to write.
        "--kube-api-qps=5".to_string(),
        "--kube-api-burst=5".to_string(),
    ]);
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.scale_component("vpa-recommender", 2).await;
    let applied = env
        .kubectl_with_manifest(
            &["apply", "-n", "default"],
            &workloads("app", WORKLOADS, "Off"),
        )
        .await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );

    // Wait for three whole rounds of checkpoint writes, then kill the leader inside the fourth.
    let n = WORKLOADS;
    env.eventually(
        "three rounds of checkpoints and the leader inside the fourth",
        Duration::from_secs(180),
        || async {
            let w = checkpoint_writes(&env);
            (w >= 3 * n && (n / 4..n / 2).contains(&(w % n))).then_some(())
        },
    )
    .await;
    let pods = env.component_pods("vpa-recommender").await;
    let (_, leader) = env.recommender_leader().await;
    let killed_at = Timestamp::now();
    env.kill_9(&leader).await;
    let writes_at_kill = checkpoint_writes(&env);
    let before: BTreeMap<String, usize> = pods
        .iter()
        .map(|p| (p.clone(), env.pod_log(p).len()))
        .collect();
    let old_log = env.pod_log(&leader);
    assert_ne!(
        writes_at_kill % n,
        0,
        "the kill landed inside a round of checkpoint writes"
    );

    // What the killed leader held at the end of its last finished loop.
    let last_loops = lines_with(&old_log, "Loop done");
    let last = last_loops.last().expect("the leader finished loops");
    let held = number(last, "vpa_cpu_weight").expect("Loop done logs vpa_cpu_weight");
    let longest_loop_ms = last_loops
        .iter()
        .filter_map(|l| number(l, "elapsed_ms"))
        .fold(0.0, f64::max);

    // The new leader (the standby, or the killed pod's restarted container) restores.
    let after = |pod: &str| env.pod_log(pod)[before.get(pod).copied().unwrap_or(0)..].to_string();
    let (restore, new_leader) = env
        .eventually(
            "a new leader restoring the checkpoints",
            Duration::from_secs(60),
            || async {
                env.component_pods("vpa-recommender")
                    .await
                    .iter()
                    .find_map(|p| {
                        let line = lines_with(&after(p), "Restored checkpoints")
                            .first()?
                            .to_string();
                        Some((line, p.clone()))
                    })
            },
        )
        .await;
    let first_loop = env
        .eventually(
            "the new leader's first loop",
            Duration::from_secs(60),
            || async {
                lines_with(&after(&new_leader), "Loop done")
                    .first()
                    .map(|l| l.to_string())
            },
        )
        .await;
    let restored = number(&restore, "cpu_weight").expect("the restore logs cpu_weight");
    let ratio = restored / held;
    let failover = logged_at(&first_loop)
        .unwrap()
        .duration_since(killed_at)
        .as_secs_f64();
    let bound = (LEASE_SECONDS + INTERVAL_SECONDS) as f64 + longest_loop_ms / 1000.0;
    env.mark(&format!(
        "killed after {writes_at_kill} checkpoint writes ({} into a round of {n}); held cpu weight \
         {held:.1}, restored {restored:.1} ({:.2} %); failover to {new_leader}'s first loop in \
         {failover:.1} s (lease {LEASE_SECONDS} s + interval {INTERVAL_SECONDS} s + longest loop \
         {:.1} s = {bound:.1} s)",
        writes_at_kill % n,
        ratio * 100.0,
        longest_loop_ms / 1000.0
    ));
    assert_eq!(number(&restore, "restored"), Some(n as f64), "{restore}");
    assert!(ratio >= 0.99, "restored {restored} of {held}: {restore}");
    // The backend's patience covers the real control plane's slower watch start and lists.
    let allowed = bound + 5.0 * f64::from(env.backend.patience());
    assert!(
        failover <= allowed,
        "failover took {failover:.1} s, more than {allowed:.1} s"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_updater_killed_after_an_eviction_never_evicts_a_pod_twice() {
    let opts = Options::fast();
    let Some(env) = Env::start(opts).await else {
        return;
    };
    env.wait_components().await;
    let updater = env.component_pods("vpa-updater").await;
    assert_eq!(updater.len(), 1, "{updater:?}");
    env.apply_hamster().await;
    let originals = support::pod_names(&env.two_hamsters().await);
    let evictions = || {
        requests(
            &env,
            &identity("vpa-updater"),
            "pods",
            "eviction",
            &["create"],
        )
    };
    let first = env
        .eventually("the first eviction", Duration::from_secs(60), || async {
            evictions().first().cloned()
        })
        .await;
    let killed = env.kill_9(&updater[0]).await;
    // Both original pods replaced by pods with the recommendation, one eviction each at most.
    let (target_cpu, _) = env.wait_for_recommendation("a recommendation").await;
    env.eventually(
        "both hamsters replaced with the recommendation",
        Duration::from_secs(90),
        || async {
            let pods = env.hamster_pods().await;
            let fresh = pods.iter().all(|p| {
                support::hamster_requests(p).is_some_and(|(cpu, _)| cpu >= 0.9 * target_cpu)
            });
            (pods.len() == 2 && fresh && support::pod_names(&pods).is_disjoint(&originals))
                .then_some(())
        },
    )
    .await;
    let all = evictions();
    let mut per_pod: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &all {
        *per_pod.entry(name).or_default() += 1;
    }
    let restarted = support::pid_of_pod(&updater[0]);
    env.mark(&format!(
        "first eviction {first}, then SIGKILL of pid {killed}; evictions per pod: {per_pod:?}; \
         the updater runs again as pid {restarted:?}"
    ));
    assert!(
        per_pod.values().all(|&c| c == 1),
        "a pod was evicted twice: {per_pod:?}"
    );
    assert!(
        per_pod.keys().all(|p| originals.contains(*p)),
        "only the original pods were evicted: {per_pod:?} vs {originals:?}"
    );
    assert!(
        restarted.is_some_and(|pid| pid != killed),
        "the killed updater ran again"
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admission_controller_killed_during_a_scale_up_loses_no_pod() {
    let Some(env) = Env::start(quiet_updater()).await else {
        return;
    };
    env.wait_components().await;
    let applied = env
        .kubectl_with_manifest(
            &["apply", "-n", "default"],
            &workloads("load", 1, "Initial"),
        )
        .await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    // A recommendation to patch with (0.3 cores used, so the target is well above 100m).
    env.eventually(
        "a recommendation for load-0",
        Duration::from_secs(60),
        || async {
            let vpa = env.get_json(&["vpa", "-n", "default", "load-0-vpa"]).await;
            vpa["status"]["recommendation"]["containerRecommendations"][0]["target"]["cpu"]
                .as_str()
                .map(str::to_string)
        },
    )
    .await;
    let admission = env.component_pods("vpa-admission-controller").await;
    assert_eq!(admission.len(), 1, "{admission:?}");
    let replicas = 40;
    let started = Instant::now();
    env.kubectl_ok(&[
        "scale",
        "-n",
        "default",
        "deploy/load-0",
        &format!("--replicas={replicas}"),
    ])
    .await;
    // Kill the webhook while the ReplicaSet creates the pods.
    env.eventually(
        "the scale-up under way",
        Duration::from_secs(30),
        || async {
            let list = env
                .get_json(&["pods", "-n", "default", "-l", "app=load-0"])
                .await;
            (list["items"].as_array()?.len() >= 5).then_some(())
        },
    )
    .await;
    let killed = env.kill_9(&admission[0]).await;
    let pods = env
        .eventually("every replica created", Duration::from_secs(60), || async {
            let list = env
                .get_json(&["pods", "-n", "default", "-l", "app=load-0"])
                .await;
            let items = list["items"].as_array()?.clone();
            (items.len() >= replicas).then_some(items)
        })
        .await;
    let created_in = started.elapsed();
    let patched = |p: &Value| {
        support::quantity(&p["spec"]["containers"][0]["resources"]["requests"]["cpu"])
            .is_some_and(|cpu| cpu > 0.1001)
    };
    let patched_before = pods.iter().filter(|p| patched(p)).count();
    // Failed creations show as FailedCreate events of the ReplicaSet.
    let events = env.get_json(&["events", "-n", "default"]).await;
    let failed: Vec<String> = events["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["reason"] == "FailedCreate")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    // Back again, the webhook patches new pods.
    env.eventually(
        "the admission controller back",
        Duration::from_secs(60),
        || async { support::pid_of_pod(&admission[0]).filter(|pid| *pid != killed) },
    )
    .await;
    env.kubectl_ok(&[
        "scale",
        "-n",
        "default",
        "deploy/load-0",
        &format!("--replicas={}", replicas + 1),
    ])
    .await;
    env.eventually(
        "a pod created after the restart is patched",
        Duration::from_secs(60),
        || async {
            let list = env
                .get_json(&["pods", "-n", "default", "-l", "app=load-0"])
                .await;
            let items = list["items"].as_array()?.clone();
            (items.len() > replicas && items.iter().filter(|p| patched(p)).count() > patched_before)
                .then_some(())
        },
    )
    .await;
    env.mark(&format!(
        "{replicas} pods created in {:.1} s across a SIGKILL of the webhook: {patched_before} \
         patched, {} admitted unpatched (failurePolicy Ignore), {} FailedCreate",
        created_in.as_secs_f64(),
        replicas - patched_before,
        failed.len()
    ));
    assert!(failed.is_empty(), "pod creations failed: {failed:?}");
    env.shutdown().await;
}

/// Loops every 2 s, except the updater's (at its default minute nothing is evicted while pods
/// are counted or checkpoints read).
fn quiet_updater() -> Options {
    Options {
        recommender_args: vec!["--recommender-interval=2s".into()],
        updater_args: Vec::new(),
        ..Options::fast()
    }
}

/// A checkpoint of `vpa`'s container `container` with the given status.
fn checkpoint(vpa: &str, container: &str, status: &str) -> String {
    format!(
        r#"apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscalerCheckpoint
metadata: {{name: {vpa}-{container}}}
spec: {{vpaObjectName: {vpa}, containerName: {container}}}
status: {status}
---
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corrupt_and_foreign_checkpoints_are_skipped_with_a_warning() {
    let Some(env) = Env::start(quiet_updater()).await else {
        return;
    };
    env.wait_components().await;
    // Stop the recommender, so that it reads the checkpoints below when it starts again.
    env.scale_component("vpa-recommender", 0).await;
    env.apply_hamster().await;
    let applied = env
        .kubectl_with_manifest(&["apply", "-n", "default"], &workloads("other", 2, "Off"))
        .await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let reference = "referenceTimestamp: '2026-12-01T00:00:00Z'";
    let bad = [
        // Bucket indexes out of range and a negative total.
        checkpoint(
            "hamster-vpa",
            "hamster",
            &format!(
                "{{version: v3, totalSamplesCount: 5, cpuHistogram: {{{reference}, totalWeight: -1, \
                 bucketWeights: {{'-4': 10, '99999': 5}}}}, memoryHistogram: {{{reference}, \
                 totalWeight: 1, bucketWeights: {{'3': 10000}}}}}}"
            ),
        ),
        // Weights that are not numbers.
        checkpoint(
            "other-0-vpa",
            "app",
            &format!(
                "{{version: v3, totalSamplesCount: 5, cpuHistogram: {{{reference}, totalWeight: 3, \
                 bucketWeights: {{'1': ten}}}}, memoryHistogram: {{{reference}, totalWeight: 1, \
                 bucketWeights: {{'3': 10000}}}}}}"
            ),
        ),
        // A version from another release.
        checkpoint(
            "other-1-vpa",
            "app",
            &format!(
                "{{version: v4, totalSamplesCount: 5, cpuHistogram: {{{reference}, totalWeight: 3, \
                 bucketWeights: {{'1': 10000}}}}, memoryHistogram: {{{reference}, totalWeight: 1, \
                 bucketWeights: {{'3': 10000}}}}}}"
            ),
        ),
    ]
    .concat();
    let applied = env
        .kubectl_with_manifest(&["apply", "-n", "default"], &bad)
        .await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    env.scale_component("vpa-recommender", 1).await;
    let pod = env.component_pods("vpa-recommender").await[0].clone();
    let log = env
        .eventually("the restore", Duration::from_secs(60), || async {
            let log = env.pod_log(&pod);
            log.contains("Restored checkpoints").then_some(log)
        })
        .await;
    let pid = support::pid_of_pod(&pod).expect("the restoring process runs");
    let skipped = lines_with(&log, "Skipping unreadable checkpoint");
    env.mark(&format!("skipped: {skipped:#?}"));
    for name in ["hamster-vpa-hamster", "other-0-vpa-app", "other-1-vpa-app"] {
        let about: Vec<_> = skipped
            .iter()
            .filter(|l| l.contains(&format!("checkpoint={name}")))
            .collect();
        assert_eq!(about.len(), 1, "one warning for {name}: {skipped:#?}");
    }
    assert!(
        skipped.iter().any(|l| l.contains("v4")),
        "the warning names the version: {skipped:#?}"
    );
    // It keeps running, recommends, and writes good checkpoints over the bad ones.
    env.wait_for_recommendation("a recommendation for the hamster")
        .await;
    env.eventually(
        "good checkpoints over the bad ones",
        Duration::from_secs(60),
        || async {
            let list = env.get_json(&["vpacheckpoint", "-n", "default"]).await;
            let good = list["items"].as_array()?.iter().filter(|c| {
                c["status"]["version"] == "v3"
                    && c["status"]["cpuHistogram"]["totalWeight"]
                        .as_f64()
                        .is_some_and(|w| w > 0.0)
                    && c["status"]["cpuHistogram"]["bucketWeights"]
                        .as_object()
                        .is_some_and(|b| b.values().all(Value::is_u64))
            });
            (good.count() == 3).then_some(())
        },
    )
    .await;
    assert_eq!(
        support::pid_of_pod(&pod),
        Some(pid),
        "the recommender never crashed (same process)"
    );
    env.shutdown().await;
}
