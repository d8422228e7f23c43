//! Shared helpers of the tests that run the controller against the in-memory API server.

#![allow(dead_code)]

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use vpa_sim::{Sim, SimOptions};

/// A started sim with the crypto provider installed, the VPA CRDs created and `namespaces`
/// present, and an admin client for it.
pub async fn sim_with_vpa_crds(namespaces: &[&str]) -> (Sim, kube::Client) {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let client = sim.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let api: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces {
        let object = serde_json::from_value(serde_json::json!({"metadata": {"name": ns}}));
        let _ = api.create(&PostParams::default(), &object.unwrap()).await;
    }
    (sim, client)
}

/// The controller's arguments against `sim`: webhook on 127.0.0.1:`port`, admin on `admin`,
/// namespace kube-system, then `extra`.
pub fn controller_args(
    sim: &Sim,
    port: u16,
    admin: u16,
    extra: &[&str],
) -> vpa_admission_controller::config::Args {
    use clap::Parser;
    let mut args = vec![
        "vpa-admission-controller".to_string(),
        format!("--kubeconfig={}", sim.kubeconfig_path().display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        format!("--address=127.0.0.1:{admin}"),
        "--namespace=kube-system".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    vpa_admission_controller::config::Args::try_parse_from(args).unwrap()
}

/// [`controller_args`] for a controller that registers its webhook by URL
/// (`https://127.0.0.1:<port>`), then `extra`.
pub fn url_registered_args(
    sim: &Sim,
    port: u16,
    admin: u16,
    extra: &[&str],
) -> vpa_admission_controller::config::Args {
    let webhook_port = format!("--webhook-port={port}");
    let mut all = vec![
        "--register-by-url",
        "--webhook-address=https://127.0.0.1",
        &webhook_port,
    ];
    all.extend_from_slice(extra);
    controller_args(sim, port, admin, &all)
}
