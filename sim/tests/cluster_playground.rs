//! `vpa-sim up` in-process: deploy/ and the hamster example are applied (with the real kubectl,
//! and without it), the VPA components and hamster pods run, and the real kubectl sees them.

use std::path::{Path, PathBuf};

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use tokio::sync::oneshot;
use vpa_sim::cluster::{UpArgs, run_until};

use vpa_test_support::eventually;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

async fn client_for(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

/// Runs `vpa-sim up` with `kubectl`, checks the result, and stops it.
async fn up_and_check(kubectl: &str) {
    vpa_common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let root = repo();
    let args = UpArgs::parse_from([
        "up".to_string(),
        "--port=0".into(),
        "--metrics-port=0".into(),
        format!("--kubeconfig-out={}", kubeconfig.display()),
        format!("--deploy={}", root.join("deploy").display()),
        format!("--example={}", root.join("examples/hamster.yaml").display()),
        format!("--kubectl={kubectl}"),
        "--simulate-components".into(),
    ]);
    let (stop, stopped) = oneshot::channel::<()>();
    let up = tokio::spawn(run_until(args, async move {
        let _ = stopped.await;
    }));
    let client = eventually("the kubeconfig", || async {
        if kubeconfig.exists() {
            Some(client_for(&kubeconfig).await)
        } else {
            None
        }
    })
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kube-system");
    for name in ["vpa-recommender", "vpa-updater", "vpa-admission-controller"] {
        eventually(name, || async {
            let d = deployments.get(name).await.ok()?;
            (d.status?.available_replicas? >= 1).then_some(())
        })
        .await;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("two running hamster pods", || async {
        let list = pods
            .list(&ListParams::default().labels("app=hamster"))
            .await
            .ok()?
            .items;
        let running = list
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        (running == 2).then_some(())
    })
    .await;
    let default_deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    eventually("hamster available", || async {
        (default_deployments
            .get("hamster")
            .await
            .ok()?
            .status?
            .available_replicas
            == Some(2))
        .then_some(())
    })
    .await;
    let gvk = GroupVersionKind::gvk("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler");
    let vpas: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk(&gvk));
    vpas.get("hamster-vpa").await.unwrap();
    if Path::new(kubectl).exists() {
        // Async: the API server runs on this test's runtime.
        let run = |args: &'static [&'static str]| {
            let mut cmd = tokio::process::Command::new(kubectl);
            cmd.arg("--kubeconfig").arg(&kubeconfig).args(args);
            async move { cmd.output().await.unwrap() }
        };
        let out = run(&["get", "pods", "-l", "app=hamster"]).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.matches("Running").count(), 2, "{text}");
        let out = run(&["get", "deploy", "hamster"]).await;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("2/2"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    stop.send(()).unwrap();
    up.await.unwrap().unwrap();
}

#[tokio::test]
async fn up_applies_deploy_and_hamster_with_the_real_kubectl() {
    let Some(kubectl) = vpa_e2e::require_tool("kubectl", &["/usr/bin/kubectl", "kubectl"]) else {
        return;
    };
    up_and_check(kubectl.to_str().unwrap()).await;
}

#[tokio::test]
async fn up_applies_deploy_and_hamster_in_process_without_kubectl() {
    up_and_check("/nonexistent/kubectl").await;
}

#[tokio::test]
async fn up_refuses_a_bad_usage_scenario_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "rules:\n  - pod: web-\n    memory: growth:10Mi\n",
    )
    .unwrap();
    let args = UpArgs::parse_from([
        "up".to_string(),
        "--port=0".into(),
        "--metrics-port=0".into(),
        format!("--kubeconfig-out={}", dir.path().join("kc").display()),
        format!("--usage-scenario={}", scenario.display()),
    ]);
    let err = run_until(args, async {}).await.unwrap_err().to_string();
    assert!(
        err.contains("scenario.yaml")
            && err.contains("line 3")
            && err.contains("rules[0].memory")
            && err.contains("growth takes 2 argument"),
        "{err}"
    );
    assert!(!dir.path().join("kc").exists(), "nothing started");
}
