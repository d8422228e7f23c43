//! Every flag of upstream's updater (its Deployment manifest and docs/flags.md, v1.7.1, plus
//! the status-lease flags of HEAD), in the forms they are written there, must parse: an
//! unknown flag makes the binary exit, so an upstream manifest would crash-loop.

use clap::Parser;
use vpa_common::testutil::upstream_argv;

use super::Args;

/// The updater's own flags with upstream-style values; `--vpa-object-namespace` is left out
/// because it excludes `--ignored-vpa-object-namespaces`.
const UPDATER_ARGS: &[&str] = &[
    "--address=:8943",
    "--evict-after-oom-threshold=10m0s",
    "--eviction-rate-burst=1",
    "--eviction-rate-limit=-1",
    "--eviction-tolerance=0.5",
    "--feature-gates=PerVPAConfig=true",
    "--ignored-vpa-object-namespaces=kube-system",
    "--in-place-skip-disruption-budget=false",
    "--in-recommendation-bounds-eviction-lifetime-threshold=12h0m0s",
    "--kube-api-burst=100",
    "--kube-api-qps=50",
    "--kubeconfig=/etc/kubernetes/kubeconfig",
    "--leader-elect=true",
    "--leader-elect-lease-duration=15s",
    "--leader-elect-renew-deadline=10s",
    "--leader-elect-resource-lock=leases",
    "--leader-elect-resource-name=vpa-updater",
    "--leader-elect-resource-namespace=kube-system",
    "--leader-elect-retry-period=2s",
    "--min-replicas=2",
    "--pod-update-threshold=0.1",
    "--profiling=false",
    "--updater-interval=1m0s",
    "--use-admission-controller-status",
    "--admission-controller-status-lease-name=vpa-admission-controller",
    "--admission-controller-status-lease-namespace=kube-system",
    "--admission-controller-status-lease-timeout=1m",
];

#[test]
fn every_upstream_updater_and_klog_flag_parses() {
    let args = Args::try_parse_from(upstream_argv("vpa-updater", UPDATER_ARGS))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(args.common.klog.v, Some(4));
    assert_eq!(args.config().interval, std::time::Duration::from_secs(60));
    let namespaced = Args::try_parse_from(["vpa-updater", "--vpa-object-namespace=team-a"]);
    assert!(namespaced.is_ok());
}

/// Upstream normalises `_` to `-` in every flag name and reads booleans as Go does; the binary
/// parses through `vpa_common::go_flags` for that, and `--kube-api-burst` is a float upstream.
#[test]
fn upstream_spellings_of_names_and_booleans_parse() {
    let args: Args = vpa_common::go_flags::try_parse_from([
        "vpa-updater",
        "--use_admission_controller_status=F",
        "--eviction_tolerance=0.3",
        "--kube-api-burst=20.9",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!args.use_admission_controller_status);
    assert_eq!(args.eviction_tolerance, 0.3);
    assert_eq!(args.common.throttle.kube_api_burst, 20);
}
