use clap::Parser;

use vpa_common::features::FeatureGates;

use super::*;

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("vpa-recommender").chain(args.iter().copied()))
}

#[test]
fn defaults_are_upstreams() {
    let cli = parse(&[]).unwrap();
    let config = cli.service.config(&cli.engine).unwrap();
    assert_eq!(config.recommender_name, "default");
    assert_eq!(config.interval, Duration::from_secs(60));
    assert_eq!(config.checkpoints_gc_interval, Duration::from_secs(600));
    assert_eq!(config.checkpoints_timeout, Duration::from_secs(60));
    assert_eq!(config.update_worker_count, 10);
    assert!(matches!(config.storage, Storage::Checkpoints));
    assert!(config.leader_election.is_none());
    assert!(config.output.global_max_allowed.is_empty());
    assert_eq!(cli.service.common.address, ":8942");
    assert_eq!(
        cli.service.leader.leader_elect_resource_name,
        "vpa-recommender-lease"
    );
    assert_eq!(config.estimation.safety_margin_fraction, 0.15);
    assert_eq!(
        cli.service.common.throttle.kube_api_qps, None,
        "no client-side limit"
    );
    let limited = parse(&["--kube-api-qps=50", "--kube-api-burst=20"]).unwrap();
    assert_eq!(limited.service.common.throttle.kube_api_qps, Some(50.0));
    assert_eq!(limited.service.common.throttle.kube_api_burst, 20);
}

#[test]
fn flags_map_into_the_config() {
    let cli = parse(&[
        "--recommender-interval=500ms",
        "--leader-elect",
        "--leader-elect-lease-duration=3s",
        "--container-recommendation-max-allowed-cpu=2",
        "--container-recommendation-max-allowed-memory=1Gi",
        "--ignored-vpa-object-namespaces=kube-system, monitoring",
        "--storage=prometheus",
        "--history-length=2d",
        "--round-cpu-millicores=10",
    ])
    .unwrap();
    let config = cli.service.config(&cli.engine).unwrap();
    assert_eq!(config.interval, Duration::from_millis(500));
    let leader = config.leader_election.unwrap();
    assert_eq!(leader.lease_duration, Duration::from_secs(3));
    assert_eq!(leader.namespace, "kube-system");
    assert_eq!(config.output.global_max_allowed[CPU], 2000);
    assert_eq!(config.output.global_max_allowed[MEMORY], 1 << 30);
    assert_eq!(config.output.round_cpu_millicores, 10);
    assert_eq!(config.namespaces.ignored, ["kube-system", "monitoring"]);
    let Storage::Prometheus(history) = config.storage else {
        panic!("prometheus storage expected");
    };
    assert_eq!(history.history_length, Duration::from_secs(2 * 86_400));
}

#[test]
fn namespace_flags_are_mutually_exclusive() {
    let err = parse(&[
        "--vpa-object-namespace=a",
        "--ignored-vpa-object-namespaces=b",
    ])
    .unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
}

#[test]
fn bad_values_are_refused() {
    assert!(parse(&["--storage=etcd"]).is_err());
    assert!(parse(&["--leader-elect-resource-lock=endpoints"]).is_err());
    let cli = parse(&["--container-recommendation-max-allowed-cpu=lots"]).unwrap();
    assert!(matches!(
        cli.service.config(&cli.engine),
        Err(ArgsError::Quantity { .. })
    ));
    let cli = parse(&[
        "--storage=prometheus",
        "--username=u",
        "--prometheus-bearer-token=t",
    ])
    .unwrap();
    assert!(matches!(
        cli.service.config(&cli.engine),
        Err(ArgsError::ConflictingAuth)
    ));
}

#[test]
fn durations_accept_go_and_prometheus_units() {
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("8d"), Ok(Duration::from_secs(8 * 86_400)));
    for bad in ["", "5", "1y", "0s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn feature_gates_select_the_recommenders_alpha_features() {
    let cli = parse(&["--feature-gates=PerVPAConfig=true,NativeSidecar=true"]).unwrap();
    let gates = cli.service.config(&cli.engine).unwrap().gates;
    assert!(gates.per_vpa_config && gates.native_sidecar && !gates.in_place);
    let defaults = parse(&[]).unwrap();
    assert_eq!(
        defaults.service.config(&defaults.engine).unwrap().gates,
        FeatureGates::default()
    );
    let typo = parse(&["--feature-gates=PerVpaConfig=true"]).unwrap();
    assert!(matches!(
        typo.service.config(&typo.engine),
        Err(ArgsError::FeatureGates(message)) if message.contains("PerVpaConfig")
    ));
}

#[test]
fn without_flags_the_service_runs_on_its_configs_defaults() {
    let cli = parse(&[]).unwrap();
    let config = cli.service.config(&cli.engine).unwrap();
    // Every field, storage and leader election included: the flags state no default of their own.
    assert_eq!(
        format!("{config:?}"),
        format!("{:?}", ServiceConfig::default())
    );
    assert_eq!(
        ServiceConfig::with_interval(Duration::from_secs(5)).interval,
        Duration::from_secs(5)
    );
}
