//! The first load of the certificate Secret retries by itself: with the API server answering
//! 503 to every Secret read for a while (longer than kube's own retry layer, which the
//! controller's client turns off, would have waited), the controller stays up and unready, and
//! serves once the API server recovers.

mod sim_support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sim_support::controller_args;
use vpa_sim::free_port;
use vpa_sim::{FaultConfig, FaultRule};
use vpa_test_support::eventually_within;
use vpa_test_support::sim_cluster::sim_with_vpa_crds;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_certificate_secret_load_retries_until_the_api_server_answers() {
    let (sim, client) = sim_with_vpa_crds(&["kube-system"]).await;
    sim.faults().set(FaultConfig {
        rules: vec!["get:secrets:1.0:503".parse::<FaultRule>().unwrap()],
        ..Default::default()
    });

    let (port, admin) = (free_port(), free_port());
    let args = controller_args(&sim, port, admin, &["--register-webhook=false"]);
    let config = args.into_config(false).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(vpa_admission_controller::run::run_until(config, async {
        let _ = stop_rx.await;
    }));

    // Failed attempts at 0 s, 1 s and 3 s; kube's retry layer would have given up within
    // 3.5 s. Still running, not serving, no Secret.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!controller.is_finished(), "the controller gave up");
    let ready_url = format!("http://127.0.0.1:{admin}/readyz");
    assert!(reqwest::get(&ready_url).await.is_err(), "serving already");
    sim.faults().clear();
    let secrets: Api<Secret> = Api::namespaced(client, "kube-system");
    assert!(secrets.get_opt("vpa-tls-certs").await.unwrap().is_none());

    // The next attempt (at 7 s) succeeds: the Secret is created and the webhook serves.
    eventually_within(
        "readiness once the API server recovered",
        Duration::from_secs(10),
        || async {
            reqwest::get(&ready_url)
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    assert!(secrets.get_opt("vpa-tls-certs").await.unwrap().is_some());
    let _ = stop_tx.send(());
    controller.await.unwrap().unwrap();
    sim.shutdown().await;
}
