//! Every flag of upstream's recommender (its Deployment manifests, including the alternative
//! `recommender-deployment-low/high.yaml`, and docs/flags.md, v1.7.1), in the forms they are
//! written there, must parse: an unknown flag makes the binary exit, so an upstream manifest
//! would crash-loop.

use clap::Parser;
use vpa_common::testutil::upstream_argv;

use super::{Cli, Command};

/// The recommender's own flags with upstream-style values. `--vpa-object-namespace` is left
/// out because it excludes `--ignored-vpa-object-namespaces`; `--use-external-metrics` parses
/// but is refused when the service starts.
const RECOMMENDER_ARGS: &[&str] = &[
    "--address=:8942",
    "--checkpoints-gc-interval=10m0s",
    "--checkpoints-timeout=1m0s",
    "--confidence-interval-cpu=24h0m0s",
    "--confidence-interval-memory=24h0m0s",
    "--container-name-label=name",
    "--container-namespace-label=namespace",
    "--container-pod-name-label=pod_name",
    "--container-recommendation-max-allowed-cpu=4",
    "--container-recommendation-max-allowed-memory=8Gi",
    "--cpu-histogram-decay-half-life=24h0m0s",
    "--cpu-integer-post-processor-enabled",
    "--external-metrics-cpu-metric=cpu",
    "--external-metrics-memory-metric=memory",
    "--feature-gates=PerVPAConfig=true",
    "--history-length=8d",
    "--history-resolution=1h",
    "--history-cpu-metric=container_cpu_usage_seconds_total",
    "--history-memory-metric=container_memory_working_set_bytes",
    "--humanize-memory=false",
    "--ignored-vpa-object-namespaces=kube-system",
    "--kube-api-burst=100",
    "--kube-api-qps=50",
    "--kubeconfig=/etc/kubernetes/kubeconfig",
    "--leader-elect=false",
    "--leader-elect-lease-duration=15s",
    "--leader-elect-renew-deadline=10s",
    "--leader-elect-resource-lock=leases",
    "--leader-elect-resource-name=vpa-recommender-lease",
    "--leader-elect-resource-namespace=kube-system",
    "--leader-elect-retry-period=2s",
    "--memory-aggregation-interval=24h0m0s",
    "--memory-aggregation-interval-count=8",
    "--memory-histogram-decay-half-life=24h0m0s",
    "--memory-saver",
    "--metric-for-pod-labels=up{job=\"kubernetes-pods\"}",
    "--min-checkpoints=10",
    "--oom-bump-up-ratio=1.2",
    "--oom-min-bump-up-bytes=1.048576e+08",
    "--password=",
    "--pod-label-prefix=pod_label_",
    "--pod-name-label=kubernetes_pod_name",
    "--pod-namespace-label=kubernetes_namespace",
    "--pod-recommendation-min-cpu-millicores=25",
    "--pod-recommendation-min-memory-mb=250",
    "--profiling=false",
    "--prometheus-address=http://prometheus.monitoring.svc",
    "--prometheus-bearer-token=",
    "--prometheus-bearer-token-file=",
    "--prometheus-cadvisor-job-name=kubernetes-cadvisor",
    "--prometheus-insecure=false",
    "--prometheus-query-timeout=5m",
    "--recommendation-lower-bound-cpu-percentile=0.5",
    "--recommendation-lower-bound-memory-percentile=0.5",
    "--recommendation-margin-fraction=0.15",
    "--recommendation-upper-bound-cpu-percentile=0.95",
    "--recommendation-upper-bound-memory-percentile=0.95",
    "--recommender-interval=1m0s",
    // recommender-deployment-low.yaml and -high.yaml.
    "--recommender-name=frugal",
    "--target-cpu-percentile=0.50",
    "--round-cpu-millicores=1",
    "--round-memory-bytes=1",
    "--storage=prometheus",
    "--target-memory-percentile=0.9",
    "--update-worker-count=10",
    "--use-external-metrics=false",
    "--username=",
];

#[test]
fn every_upstream_recommender_and_klog_flag_parses() {
    let cli = Cli::try_parse_from(upstream_argv("vpa-recommender", RECOMMENDER_ARGS))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(cli.command.is_none(), "the service, not a subcommand");
    assert_eq!(cli.service.common.klog.v, Some(4));
    cli.service
        .config(&cli.engine)
        .expect("upstream values are valid");
    let namespaced = Cli::try_parse_from(["vpa-recommender", "--vpa-object-namespace=team-a"]);
    assert!(namespaced.is_ok());
    let replay =
        Cli::try_parse_from(["vpa-recommender", "replay", "--samples=samples.csv"]).unwrap();
    assert!(matches!(replay.command, Some(Command::Replay(_))));
}

/// Upstream normalises `_` to `-` in every flag name and reads booleans as Go does; the binary
/// parses through `vpa_common::go_flags` for that, and `--kube-api-burst` is a float upstream.
#[test]
fn upstream_spellings_of_names_and_booleans_parse() {
    let cli: Cli = vpa_common::go_flags::try_parse_from([
        "vpa-recommender",
        "--memory_saver=T",
        "--humanize-memory=0",
        "--recommender_interval=30s",
        "--kube-api-burst=100.5",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(cli.service.memory_saver);
    assert!(!cli.service.humanize_memory);
    assert_eq!(cli.service.common.throttle.kube_api_burst, 100);
}
