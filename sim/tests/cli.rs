//! `vpa-sim apiserver` as a process: it writes a kubeconfig that a client can use, applies fault
//! flags, and exits cleanly on SIGTERM.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

#[tokio::test]
async fn apiserver_command_serves_until_terminated() {
    vpa_common::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vpa-sim"))
        .args([
            "apiserver",
            "--port",
            "0",
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
            "--fault",
            "list:pods:1:503",
        ])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if kubeconfig.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    cfg.default_retry = false;
    let client = kube::Client::try_from(cfg).unwrap();
    let names: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"default".to_string()), "{names:?}");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::default_namespaced(client.clone());
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 503),
        other => panic!("the --fault flag should fail pod lists, got {other:?}"),
    }
    // Faults change at run time through the control endpoint.
    let req = axum::http::Request::put("/sim/v1/faults")
        .header("content-type", "application/json")
        .body(br#"{"rules": []}"#.to_vec())
        .unwrap();
    client.request_text(req).await.unwrap();
    pods.list(&ListParams::default()).await.unwrap();
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
