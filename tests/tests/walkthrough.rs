//! The classic hamster walkthrough end to end with the three real binaries running as pods of
//! `deploy/` in the sim (issue 8): requests 100m/50Mi, usage about half a core → the recommender
//! writes a target of about 587m → the updater evicts → the ReplicaSet recreates → the admission
//! controller gives the replacements the new requests, and `kubectl get pods` shows them. And the
//! safety check: with the admission controller scaled to 0 (its status Lease stale), the updater
//! evicts nothing.

mod support;

use std::time::Duration;

use support::{Env, Options, hamster_requests, identity, pod_names};

/// Short loops so a walkthrough takes seconds.
fn fast(admission_lease_timeout: &str) -> Options {
    Options {
        recommender_args: vec!["--recommender-interval=5s".into()],
        updater_args: vec![
            "--updater-interval=5s".into(),
            format!("--admission-controller-status-lease-timeout={admission_lease_timeout}"),
        ],
        admission_args: vec!["--status-lease-update-interval=1s".into()],
    }
}

fn evictions(env: &Env) -> Vec<String> {
    env.audit_records()
        .into_iter()
        .filter(|r| r.user == identity("vpa-updater") && r.subresource == "eviction")
        .map(|r| format!("{} {} allowed={}", r.verb, r.name, r.allowed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hamster_gets_the_recommended_requests_through_eviction_and_admission() {
    let Some(env) = Env::start(fast("1m")).await else {
        return;
    };
    for d in ["vpa-recommender", "vpa-updater", "vpa-admission-controller"] {
        env.wait_available("kube-system", d, 1).await;
    }
    env.apply_hamster().await;
    let original = env.two_hamsters().await;
    for p in &original {
        assert_eq!(
            hamster_requests(p),
            Some((0.1, 50.0 * 1024.0 * 1024.0)),
            "the first pods keep the manifest's requests (no recommendation yet)"
        );
    }
    let original = pod_names(&original);

    let (cpu, memory) = env
        .wait_for_recommendation("a recommendation in the VPA status")
        .await;
    eprintln!("recommendation: cpu {cpu}, memory {memory}");
    assert!(
        (0.55..=0.62).contains(&cpu),
        "target CPU about 587m for half a core of usage, got {cpu}"
    );

    let replaced = env
        .eventually(
            "both hamster pods replaced by pods with the recommended requests",
            Duration::from_secs(45),
            || async {
                let pods = env.hamster_pods().await;
                let (cpu, memory) = env.hamster_target().await?;
                let all_new = pods.len() == 2
                    && pod_names(&pods).is_disjoint(&original)
                    && pods.iter().all(|p| {
                        hamster_requests(p).is_some_and(|(c, m)| {
                            (c - cpu).abs() <= cpu * 0.05 && (m - memory).abs() <= memory * 0.05
                        })
                    });
                all_new.then_some(pods)
            },
        )
        .await;

    // The replacements came from the Deployment's ReplicaSet, not from anyone else.
    for p in &replaced {
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "ReplicaSet", "{p}");
        assert!(
            owner["name"].as_str().unwrap().starts_with("hamster-"),
            "{p}"
        );
    }
    // The updater evicted the originals through the Eviction API, as its ServiceAccount.
    let evicted = evictions(&env);
    for name in &original {
        assert!(
            evicted
                .iter()
                .any(|e| e.contains(name) && e.ends_with("allowed=true")),
            "{name} evicted by the updater: {evicted:?}"
        );
    }
    // The admission controller wrote the requests (its annotation says so), and the real kubectl
    // shows them.
    let table = env
        .kubectl_ok(&[
            "get",
            "pods",
            "-n",
            "default",
            "-l",
            "app=hamster",
            "-o",
            "custom-columns=NAME:.metadata.name,CPU:.spec.containers[0].resources.requests.cpu,MEMORY:.spec.containers[0].resources.requests.memory,UPDATES:.metadata.annotations.vpaUpdates",
        ])
        .await;
    eprintln!("{table}");
    for p in &replaced {
        let updates = p["metadata"]["annotations"]["vpaUpdates"]
            .as_str()
            .unwrap_or_default();
        assert!(
            updates.contains("hamster-vpa"),
            "the admission controller annotated {}: {updates:?}",
            p["metadata"]["name"]
        );
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_evictions_while_the_admission_controller_is_down() {
    let Some(env) = Env::start(fast("3s")).await else {
        return;
    };
    for d in ["vpa-recommender", "vpa-updater", "vpa-admission-controller"] {
        env.wait_available("kube-system", d, 1).await;
    }
    // The admission controller is up and renews its status Lease ...
    env.wait_exists(
        "the admission controller's status Lease",
        &["lease", "-n", "kube-system", "vpa-admission-controller"],
    )
    .await;
    // ... until it is scaled to 0: the Lease goes stale.
    env.kubectl_ok(&[
        "scale",
        "-n",
        "kube-system",
        "deploy/vpa-admission-controller",
        "--replicas=0",
    ])
    .await;
    env.eventually(
        "no admission-controller pod",
        Duration::from_secs(20),
        || async {
            let list = env
                .get_json(&[
                    "pods",
                    "-n",
                    "kube-system",
                    "-l",
                    "app=vpa-admission-controller",
                ])
                .await;
            list["items"].as_array()?.is_empty().then_some(())
        },
    )
    .await;

    env.apply_hamster().await;
    let original = env.two_hamsters().await;
    let original = pod_names(&original);
    env.wait_for_recommendation("a recommendation in the VPA status")
        .await;
    // Several updater loops with a recommendation far from the pods' requests: nothing evicted.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let evicted = evictions(&env);
    assert!(evicted.is_empty(), "evictions: {evicted:?}\n{}", env.logs());
    let pods = env.hamster_pods().await;
    assert_eq!(pod_names(&pods), original, "the hamster pods are untouched");
    let updater_log = env.logs();
    assert!(
        updater_log.contains("vpa-updater"),
        "the updater ran:\n{updater_log}"
    );
    env.shutdown().await;
}
