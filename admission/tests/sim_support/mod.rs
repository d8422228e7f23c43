//! The controller's command line in the tests that run it against the in-memory API server (the
//! sim itself comes from `vpa_test_support::sim_cluster`).

#![allow(dead_code)]

use vpa_sim::Sim;

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
