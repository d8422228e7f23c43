//! The simulated cluster through the real kubectl: create a Deployment, wait with
//! `rollout status`, roll a new image with `set image`, scale it, and read `top pods` and the
//! Unschedulable reason in `describe`. Skips without kubectl (fails under CI=true).

use std::path::{Path, PathBuf};

use vpa_sim::SimOptions;

use vpa_test_support::sim_cluster::sim_with_cluster;

async fn kubectl(bin: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    // Async: the API server runs on this test's runtime.
    let out = tokio::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kubectl_path() -> Option<PathBuf> {
    vpa_e2e::require_tool("kubectl", &["/usr/bin/kubectl", "kubectl"])
}

#[tokio::test]
async fn kubectl_rollouts_scale_and_top_work_against_the_cluster() {
    let Some(bin) = kubectl_path() else { return };
    let (sim, cluster, _client) =
        sim_with_cluster(&["n1:4:8Gi", "n2:4:8Gi"], SimOptions::default()).await;
    let kc = sim.kubeconfig_path().to_path_buf();
    kubectl(
        &bin,
        &kc,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1",
            "--replicas=3",
        ],
    )
    .await;
    let out = kubectl(
        &bin,
        &kc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    assert!(out.contains("successfully rolled out"), "{out}");

    kubectl(
        &bin,
        &kc,
        &["set", "image", "deployment/web", "nginx=nginx:2"],
    )
    .await;
    let out = kubectl(
        &bin,
        &kc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let images = kubectl(
        &bin,
        &kc,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ],
    )
    .await;
    assert_eq!(
        images.split_whitespace().collect::<Vec<_>>(),
        ["nginx:2"; 3]
    );
    let rs = kubectl(
        &bin,
        &kc,
        &[
            "get",
            "rs",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.replicas}",
        ],
    )
    .await;
    let mut replicas: Vec<&str> = rs.split_whitespace().collect();
    replicas.sort();
    assert_eq!(replicas, ["0", "3"]);

    let history = kubectl(&bin, &kc, &["rollout", "history", "deployment/web"]).await;
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    kubectl(&bin, &kc, &["rollout", "undo", "deployment/web"]).await;
    let out = kubectl(
        &bin,
        &kc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let images = kubectl(
        &bin,
        &kc,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ],
    )
    .await;
    assert_eq!(
        images.split_whitespace().collect::<Vec<_>>(),
        ["nginx:1"; 3],
        "rolled back"
    );

    kubectl(&bin, &kc, &["scale", "deployment/web", "--replicas=1"]).await;
    let out = kubectl(
        &bin,
        &kc,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    )
    .await;
    assert!(out.contains("successfully rolled out"), "{out}");
    let mut top = String::new();
    for _ in 0..100 {
        let out = tokio::process::Command::new(&bin)
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["top", "pods"])
            .output()
            .await
            .unwrap();
        top = String::from_utf8_lossy(&out.stdout).into_owned();
        if top.lines().count() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        top.contains("web-") && top.contains("10m") && top.contains("20Mi"),
        "default usage shows in top:\n{top}"
    );

    // ReplicationControllers: created from YAML, listed with their columns, scaled.
    let rc_yaml = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rc_yaml.path(),
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: legacy\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n        app: legacy\n    spec:\n      containers:\n      - name: c\n        image: i:1\n",
    )
    .unwrap();
    let path = rc_yaml.path().to_str().unwrap();
    kubectl(&bin, &kc, &["apply", "-f", path]).await;
    kubectl(&bin, &kc, &["scale", "rc", "legacy", "--replicas=3"]).await;
    let mut rcs = String::new();
    for _ in 0..100 {
        rcs = kubectl(&bin, &kc, &["get", "rc"]).await;
        if rcs.lines().nth(1).is_some_and(|l| {
            l.split_whitespace().collect::<Vec<_>>()[..4] == ["legacy", "3", "3", "3"]
        }) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let header: Vec<&str> = rcs
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "{rcs}"
    );
    assert!(
        rcs.lines().nth(1).is_some_and(
            |l| l.split_whitespace().collect::<Vec<_>>()[..4] == ["legacy", "3", "3", "3"]
        ),
        "{rcs}"
    );
    let owners = kubectl(
        &bin,
        &kc,
        &[
            "get",
            "pods",
            "-l",
            "app=legacy",
            "-o",
            "jsonpath={.items[*].metadata.ownerReferences[0].kind}",
        ],
    )
    .await;
    assert_eq!(
        owners.split_whitespace().collect::<Vec<_>>(),
        ["ReplicationController"; 3]
    );

    kubectl(&bin, &kc, &["run", "huge", "--image=i", "--overrides={\"spec\":{\"containers\":[{\"name\":\"huge\",\"image\":\"i\",\"resources\":{\"requests\":{\"memory\":\"64Gi\"}}}]}}"]).await;
    let mut described = String::new();
    for _ in 0..100 {
        described = kubectl(&bin, &kc, &["describe", "pod", "huge"]).await;
        if described.contains("FailedScheduling") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        described.contains("0/2 nodes are available: 2 Insufficient memory."),
        "{described}"
    );
    cluster.stop().await;
    sim.shutdown().await;
}
