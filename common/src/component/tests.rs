use clap::{CommandFactory, Parser};

use super::*;
use crate::testutil::parse_group;

#[derive(Clone, Debug)]
struct Strict;

impl Component for Strict {
    const ADMIN_ADDRESS: &'static str = ":8943";
    const GATES_CHECKED_AT_PARSE: bool = true;
}

#[derive(Clone, Debug)]
struct Lenient;

impl Component for Lenient {
    const ADMIN_ADDRESS: &'static str = ":8944";
    const NAMESPACE_CONFLICT_AT_PARSE: bool = false;
}

#[derive(Parser, Debug)]
struct WithEnv {
    #[command(flatten)]
    common: ComponentFlags<Env>,
}

#[derive(Clone, Debug)]
struct Env;

impl Component for Env {
    const ADMIN_ADDRESS: &'static str = ":8942";
    const ADMIN_ADDRESS_ENV: Option<&'static str> = Some("VPA_COMPONENT_TEST_ADDRESS");
}

#[test]
fn defaults_are_the_components_and_upstreams() {
    let flags: ComponentFlags<Strict> = parse_group(&[]).unwrap();
    assert_eq!(flags.address, ":8943");
    assert_eq!(
        flags.admin_address().unwrap(),
        "0.0.0.0:8943".parse().unwrap()
    );
    assert_eq!(flags.kubeconfig, "");
    assert_eq!(flags.namespaces().unwrap(), NamespaceFilter::default());
    assert_eq!(flags.gates().unwrap(), FeatureGates::default());
    assert_eq!(flags.throttle.rate(), None);
    assert!(!flags.profiling);
    let other: ComponentFlags<Lenient> = parse_group(&[]).unwrap();
    assert_eq!(other.address, ":8944");
}

#[test]
fn namespace_flags_become_a_filter_and_exclude_each_other() {
    let flags: ComponentFlags<Strict> =
        parse_group(&["--ignored-vpa-object-namespaces=kube-system, monitoring"]).unwrap();
    let filter = flags.namespaces().unwrap();
    assert_eq!(filter.ignored, ["kube-system", "monitoring"]);
    assert!(filter.allows("a") && !filter.allows("monitoring"));
    let both = [
        "--vpa-object-namespace=a",
        "--ignored-vpa-object-namespaces=b",
    ];
    let refused = parse_group::<ComponentFlags<Strict>>(&both).unwrap_err();
    assert_eq!(refused.kind(), clap::error::ErrorKind::ArgumentConflict);
    let later: ComponentFlags<Lenient> = parse_group(&both).unwrap();
    assert_eq!(later.namespaces().unwrap_err(), NAMESPACE_CONFLICT);
}

#[test]
fn bad_gates_are_refused_when_the_component_says() {
    let bad = ["--feature-gates=Nope=true"];
    assert!(parse_group::<ComponentFlags<Strict>>(&bad).is_err());
    let later: ComponentFlags<Lenient> = parse_group(&bad).unwrap();
    assert!(later.gates().unwrap_err().contains("Nope"));
    let good: ComponentFlags<Strict> = parse_group(&["--feature-gates=InPlace=true"]).unwrap();
    assert!(good.gates().unwrap().in_place);
}

#[test]
fn the_address_may_come_from_the_components_variable() {
    let from_flag = WithEnv::try_parse_from(["vpa", "--address=127.0.0.1:1"]).unwrap();
    assert_eq!(from_flag.common.address, "127.0.0.1:1");
    assert!(
        WithEnv::command()
            .get_arguments()
            .find(|a| a.get_id() == "address")
            .and_then(|a| a.get_env())
            .is_some_and(|e| e == "VPA_COMPONENT_TEST_ADDRESS")
    );
    let bad: ComponentFlags<Strict> = parse_group(&["--address=nope"]).unwrap();
    assert!(bad.admin_address().is_err());
}
