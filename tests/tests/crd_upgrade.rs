//! "Keep your CRDs, install ours": a cluster that ran VPA before v1 still lists `v1beta2` in
//! both CRDs' `status.storedVersions`, and the API server refuses a CRD that drops a version
//! listed there. Ours keeps upstream's unserved `v1beta2` entry, so `kubectl apply` over such a
//! cluster succeeds and the old objects read back as v1. Runs on both backends; on the real one
//! it is the API server's own check.

mod support;

use serde_json::{Value, json};
use support::Env;

/// Both VPA kinds: (plural, kind).
const KINDS: [(&str, &str); 2] = [
    ("verticalpodautoscalers", "VerticalPodAutoscaler"),
    (
        "verticalpodautoscalercheckpoints",
        "VerticalPodAutoscalerCheckpoint",
    ),
];

/// An upstream-era CRD with `v1beta2` and `v1` both served and `storage` the storage version.
fn upstream_shaped(plural: &str, kind: &str, storage: &str) -> Value {
    let version = |name: &str| {
        json!({
            "name": name, "served": true, "storage": name == storage,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        })
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.autoscaling.k8s.io"),
            "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"},
        },
        "spec": {
            "group": "autoscaling.k8s.io",
            "names": {"plural": plural, "kind": kind, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "scope": "Namespaced",
            "versions": [version("v1beta2"), version("v1")],
        },
    })
}

/// Our CRD file's documents, parsed.
fn our_crds() -> Vec<Value> {
    let path = vpa_e2e::repo_root().join(vpa_common::crd::CRD_PATH);
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---")
        .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
        .filter(Value::is_object)
        .collect()
}

/// A multi-document manifest of `items` (each JSON, which kubectl reads as YAML).
fn manifest(items: Vec<Value>) -> String {
    items.iter().map(|i| format!("---\n{i}\n")).collect()
}

async fn stored_versions(env: &Env, plural: &str) -> Value {
    let crd = env
        .get_json(&["crd", &format!("{plural}.autoscaling.k8s.io")])
        .await;
    crd["status"]["storedVersions"].clone()
}

async fn wait_served(env: &Env, version: &str) {
    let path = format!("/apis/autoscaling.k8s.io/{version}");
    env.eventually(
        &format!("autoscaling.k8s.io/{version} served"),
        std::time::Duration::from_secs(20),
        || async {
            let out = env.kubectl(&["get", "--raw", &path]).await;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            (out.status.success() && KINDS.iter().all(|(p, _)| text.contains(p))).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn our_crds_replace_upstream_ones_that_once_stored_v1beta2() {
    let Some(env) = Env::start_bare().await else {
        return;
    };
    // The cluster's history: v1beta2 was the storage version, an object was written in it,
    // then upstream moved storage to v1.
    for storage in ["v1beta2", "v1"] {
        let crds = KINDS
            .iter()
            .map(|(p, k)| upstream_shaped(p, k, storage))
            .collect();
        let out = env.kubectl_with_manifest(&["apply"], &manifest(crds)).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        wait_served(&env, "v1beta2").await;
        if storage == "v1beta2" {
            let old = json!({
                "apiVersion": "autoscaling.k8s.io/v1beta2",
                "kind": "VerticalPodAutoscaler",
                "metadata": {"name": "from-v1beta2", "namespace": "default"},
                "spec": {
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hamster"},
                    "updatePolicy": {"updateMode": "Off"},
                },
            });
            let out = env
                .kubectl_with_manifest(&["create"], &old.to_string())
                .await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    for (plural, _) in KINDS {
        assert_eq!(
            stored_versions(&env, plural).await,
            json!(["v1beta2", "v1"])
        );
    }
    env.mark("upstream-era CRDs with storedVersions [v1beta2, v1]");

    // Without the v1beta2 entry (what we shipped before) the API server says no.
    let mut without = our_crds();
    for crd in &mut without {
        let versions = crd["spec"]["versions"].as_array_mut().unwrap();
        versions.retain(|v| v["name"] != "v1beta2");
    }
    let out = env
        .kubectl_with_manifest(&["apply"], &manifest(without))
        .await;
    assert!(
        !out.status.success(),
        "a CRD dropping a stored version was accepted"
    );
    // kubectl prints the whole patch; the server's verdict ends each error.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let verdicts: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once(" is invalid: ").map(|(_, v)| v))
        .collect();
    assert_eq!(verdicts.len(), 2, "{stderr}");
    for verdict in verdicts {
        assert!(
            verdict.starts_with(
                "status.storedVersions[0]: Invalid value: \"v1beta2\": missing from spec.versions"
            ),
            "{verdict}"
        );
    }

    // Ours as shipped.
    let crd_file = vpa_e2e::repo_root().join(vpa_common::crd::CRD_PATH);
    env.kubectl_ok(&["apply", "-f", crd_file.to_str().unwrap()])
        .await;
    env.mark("our CRDs applied over them");
    for (plural, _) in KINDS {
        assert_eq!(
            stored_versions(&env, plural).await,
            json!(["v1beta2", "v1"])
        );
    }
    let vpa = env
        .get_json(&["vpa", "-n", "default", "from-v1beta2"])
        .await;
    assert_eq!(vpa["apiVersion"], "autoscaling.k8s.io/v1");
    assert_eq!(vpa["spec"]["targetRef"]["name"], "hamster");
    assert_eq!(vpa["spec"]["updatePolicy"]["updateMode"], "Off");
    env.eventually(
        "autoscaling.k8s.io/v1beta2 no longer served",
        std::time::Duration::from_secs(20),
        || async {
            let beta = env
                .kubectl(&["get", "--raw", "/apis/autoscaling.k8s.io/v1beta2"])
                .await;
            (!beta.status.success()).then_some(())
        },
    )
    .await;
    env.shutdown().await;
}
