//! Every flag of upstream's admission controller (its Deployment manifest, `--v=4
//! --stderrthreshold=info --reload-cert`, and docs/flags.md, v1.7.1, plus the status-lease flags
//! of HEAD), in the forms they are written there, must parse: an unknown flag makes the binary
//! exit, so an upstream manifest would crash-loop.

use clap::Parser;
use vpa_common::testutil::upstream_argv;

use super::Args;

/// The admission controller's own flags with upstream-style values; `--vpa-object-namespace`
/// is left out because it excludes `--ignored-vpa-object-namespaces`.
const ADMISSION_ARGS: &[&str] = &[
    "--address=:8944",
    "--client-ca-file=/etc/tls-certs/caCert.pem",
    "--feature-gates=PerVPAConfig=true",
    "--ignored-vpa-object-namespaces=kube-system",
    "--kube-api-burst=100",
    "--kube-api-qps=50",
    "--kubeconfig=/etc/kubernetes/kubeconfig",
    "--max-allowed-cpu-boost=4",
    "--min-tls-version=tls1_2",
    "--port=8000",
    "--profiling",
    "--register-by-url=false",
    "--register-webhook=true",
    "--reload-cert",
    "--tls-cert-file=/etc/tls-certs/serverCert.pem",
    "--tls-ciphers=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "--tls-private-key=/etc/tls-certs/serverKey.pem",
    "--webhook-address=",
    "--webhook-failure-policy-fail=false",
    "--webhook-labels=team:autoscaling",
    "--webhook-port=",
    "--webhook-service=vpa-webhook",
    "--webhook-timeout-seconds=30",
    "--status-lease-name=vpa-admission-controller",
    "--status-lease-namespace=kube-system",
    "--status-lease-update-interval=10s",
];

#[test]
fn every_upstream_admission_controller_and_klog_flag_parses() {
    let args = Args::try_parse_from(upstream_argv("vpa-admission-controller", ADMISSION_ARGS))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(args.common.klog.v, Some(4));
    let config = args.into_config(true).expect("upstream values are valid");
    assert!(config.gates.per_vpa_config);
    let namespaced =
        Args::try_parse_from(["vpa-admission-controller", "--vpa-object-namespace=team-a"]);
    assert!(namespaced.is_ok());
}

/// Upstream normalises `_` to `-` in every flag name and reads booleans as Go does; the binary
/// parses through `vpa_common::go_flags` for that, and `--kube-api-burst` is a float upstream.
#[test]
fn upstream_spellings_of_names_and_booleans_parse() {
    let args: Args = vpa_common::go_flags::try_parse_from([
        "vpa-admission-controller",
        "--reload_cert=1",
        "--register-by-url=t",
        "--kube_api_burst=5.0",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(args.reload_cert && args.register_by_url);
    assert_eq!(args.common.throttle.kube_api_burst, 5);
}
