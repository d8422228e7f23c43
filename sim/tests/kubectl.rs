//! The real kubectl (default flags) against vpa-sim: apply the project's CRDs and the hamster
//! demo, get/describe with printer columns, scale, patch, delete, strict field validation,
//! `get -w`, and `auth can-i` as a ServiceAccount. Skips with a reason where kubectl is missing,
//! and fails instead under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::io::AsyncBufReadExt;
use vpa_sim::{Sim, SimOptions};

fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("kubectl is not installed, and CI=true requires the kubectl tests to run");
        }
        eprintln!("skipping: kubectl is not installed on this machine");
    }
    found
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    fn new(bin: PathBuf, kubeconfig: &Path) -> Self {
        Kubectl {
            bin,
            kubeconfig: kubeconfig.to_path_buf(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .kill_on_drop(true);
        c
    }

    /// Runs kubectl; returns (success, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(30), self.command(args).output())
            .await
            .expect("kubectl timed out")
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }
}

async fn setup() -> Option<(Sim, Kubectl)> {
    let bin = kubectl()?;
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let k = Kubectl::new(bin, sim.kubeconfig_path());
    Some((sim, k))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_applies_the_crds_and_hamster_and_prints_vpa_columns() {
    let Some((sim, k)) = setup().await else {
        return;
    };
    let out = k
        .ok(&["apply", "-f", &repo("deploy/crds/vpa-v1-crd.yaml")])
        .await;
    assert!(
        out.contains("verticalpodautoscalers.autoscaling.k8s.io created"),
        "{out}"
    );
    let out = k.ok(&["apply", "-f", &repo("examples/hamster.yaml")]).await;
    assert!(
        out.contains("verticalpodautoscaler.autoscaling.k8s.io/hamster-vpa created")
            && out.contains("deployment.apps/hamster created"),
        "{out}"
    );

    let vpa = k.ok(&["get", "vpa"]).await;
    let header: Vec<&str> = vpa.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "MODE", "CPU", "MEM", "PROVIDED", "AGE"],
        "{vpa}"
    );
    assert!(
        vpa.lines().nth(1).unwrap().starts_with("hamster-vpa") && vpa.contains("Recreate"),
        "{vpa}"
    );
    let deploy = k.ok(&["get", "deployments"]).await;
    assert!(
        deploy.starts_with("NAME") && deploy.contains("READY") && deploy.contains("hamster"),
        "{deploy}"
    );
    let describe = k.ok(&["describe", "deployment", "hamster"]).await;
    assert!(
        describe.contains("Selector:")
            && describe.contains("app=hamster")
            && describe.contains("100m"),
        "{describe}"
    );
    let describe = k.ok(&["describe", "vpa", "hamster-vpa"]).await;
    assert!(describe.contains("Update Mode:  Recreate"), "{describe}");
    // Applying again is a no-op; the CRD is established.
    let again = k.ok(&["apply", "-f", &repo("examples/hamster.yaml")]).await;
    assert!(again.contains("unchanged"), "{again}");
    let crd = k
        .ok(&[
            "get",
            "crd",
            "verticalpodautoscalers.autoscaling.k8s.io",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
        ])
        .await;
    assert_eq!(crd, "True");
    let explain = k.ok(&["explain", "vpa.spec.updatePolicy"]).await;
    assert!(explain.contains("updateMode"), "{explain}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_uses_strict_server_side_validation() {
    let Some((sim, k)) = setup().await else {
        return;
    };
    k.ok(&["apply", "-f", &repo("deploy/crds/vpa-v1-crd.yaml")])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  replicas: 1\n  bogus: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n",
    )
    .unwrap();
    let (ok, _, err) = k.run(&["apply", "-f", bad.to_str().unwrap()]).await;
    assert!(
        !ok && err.contains("strict decoding error: unknown field \"spec.bogus\""),
        "{err}"
    );
    let vpa = dir.path().join("vpa.yaml");
    std::fs::write(
        &vpa,
        "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: v}\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n  updatePolicy: {updateMode: Sometimes}\n",
    )
    .unwrap();
    let (ok, _, err) = k.run(&["create", "-f", vpa.to_str().unwrap()]).await;
    assert!(
        !ok && err
            .contains("is invalid: spec.updatePolicy.updateMode: Unsupported value: \"Sometimes\""),
        "{err}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_patch_delete_and_pod_columns() {
    let Some((sim, k)) = setup().await else {
        return;
    };
    k.ok(&["apply", "-f", &repo("deploy/crds/vpa-v1-crd.yaml")])
        .await;
    k.ok(&["apply", "-f", &repo("examples/hamster.yaml")]).await;
    k.ok(&["scale", "deployment/hamster", "--replicas=3"]).await;
    k.ok(&[
        "patch",
        "deployment",
        "hamster",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"hamster","image":"x:2"}]}}}}"#,
    ])
    .await;
    let got = k.ok(&["get", "deployment", "hamster", "-o", "jsonpath={.spec.replicas} {.metadata.generation} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].command[0]}"]).await;
    assert_eq!(got, "3 3 x:2 /bin/sh");
    k.ok(&[
        "patch",
        "vpa",
        "hamster-vpa",
        "--type=merge",
        "-p",
        r#"{"spec":{"updatePolicy":{"updateMode":"Off"}}}"#,
    ])
    .await;
    assert!(k.ok(&["get", "vpa"]).await.contains("Off"));

    let pods: Api<Pod> = Api::default_namespaced(sim.client().await.unwrap());
    let pod = serde_json::from_value(json!({"metadata": {"name": "hamster-abc"}, "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true, "restartCount": 1, "image": "i", "imageID": "", "state": {"running": {}}}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let table = k.ok(&["get", "pods"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{table}"
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["hamster-abc", "1/1", "Running", "1"], "{table}");

    let out = k
        .ok(&["delete", "-f", &repo("examples/hamster.yaml")])
        .await;
    assert!(out.contains("deleted"), "{out}");
    let (ok, _, err) = k.run(&["get", "deployment", "hamster"]).await;
    assert!(!ok && err.contains("NotFound"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_watch_sees_changes() {
    let Some((sim, k)) = setup().await else {
        return;
    };
    k.ok(&["create", "configmap", "first", "--from-literal=a=1"])
        .await;
    let mut watch = k
        .command(&["get", "configmaps", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Reads watch output until `done` holds for the names seen so far.
    async fn read_until(
        lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
        seen: &mut Vec<String>,
        done: impl Fn(&[String]) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(seen) {
            let line = tokio::time::timeout_at(deadline, lines.next_line())
                .await
                .expect("kubectl get -w output")
                .unwrap()
                .expect("output goes on");
            seen.push(
                line.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    read_until(&mut lines, &mut seen, |s| s.iter().any(|n| n == "first")).await;
    assert_eq!(seen[0], "NAME");
    k.ok(&["create", "configmap", "second", "--from-literal=a=1"])
        .await;
    k.ok(&["delete", "configmap", "first"]).await;
    // The new object and the delete (another "first" line) both arrive.
    read_until(&mut lines, &mut seen, |s| {
        s.iter().any(|n| n == "second") && s.iter().filter(|n| *n == "first").count() >= 2
    })
    .await;
    watch.start_kill().unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_follows_rbac_for_a_service_account() {
    let Some((sim, k)) = setup().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rbac = dir.path().join("rbac.yaml");
    std::fs::write(
        &rbac,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reader, namespace: default}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pod-reader}\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get, list, watch]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: pod-reader}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}\n\
         subjects:\n- {kind: ServiceAccount, name: reader, namespace: default}\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", rbac.to_str().unwrap()]).await;
    let sa = "--as=system:serviceaccount:default:reader";
    assert_eq!(
        k.ok(&["auth", "can-i", "list", "pods", sa]).await.trim(),
        "yes"
    );
    let (ok, out, _) = k.run(&["auth", "can-i", "delete", "pods", sa]).await;
    assert!(!ok && out.trim() == "no", "{out}");
    let (ok, out, _) = k.run(&["auth", "can-i", "list", "deployments", sa]).await;
    assert!(!ok && out.trim() == "no", "{out}");

    // The project's own manifests, RBAC included, apply as a whole.
    let out = k.ok(&["apply", "-k", &repo("deploy")]).await;
    assert!(
        out.contains("clusterrolebinding.rbac.authorization.k8s.io/vpa-rs:updater created"),
        "{out}"
    );
    let updater = "--as=system:serviceaccount:kube-system:vpa-updater";
    assert_eq!(
        k.ok(&[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=eviction",
            updater
        ])
        .await
        .trim(),
        "yes"
    );
    let recommender = "--as=system:serviceaccount:kube-system:vpa-recommender";
    let (ok, out, _) = k
        .run(&[
            "auth",
            "can-i",
            "create",
            "pods",
            "--subresource=eviction",
            recommender,
        ])
        .await;
    assert!(!ok && out.trim() == "no", "{out}");

    // The same identity with its own token.
    let token = k.ok(&["create", "token", "reader"]).await;
    let token_arg = format!("--token={}", token.trim());
    k.ok(&["get", "pods", &token_arg]).await;
    let (ok, _, err) = k.run(&["get", "deployments", &token_arg]).await;
    assert!(
        !ok && err.contains(
            "User \"system:serviceaccount:default:reader\" cannot list resource \"deployments\""
        ),
        "{err}"
    );
    sim.shutdown().await;
}
