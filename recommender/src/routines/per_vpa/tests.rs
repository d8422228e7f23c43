//! Per-VPA settings: from container policies to model overrides, and what a closed gate ignores.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use vpa_common::testutil::VpaBuilder;

use super::*;
use crate::input::snapshot::{VpaInfo, VpaTarget};

fn q(text: &str) -> Option<Quantity> {
    Some(Quantity(text.into()))
}

fn snapshot(vpas: Vec<(VerticalPodAutoscaler, Option<&str>)>) -> Snapshot {
    Snapshot {
        vpas: vpas
            .into_iter()
            .map(|(vpa, workload)| VpaInfo {
                vpa: Arc::new(vpa),
                status: None,
                target: workload
                    .map(|w| VpaTarget {
                        workload: w.into(),
                        selector: Default::default(),
                    })
                    .ok_or_else(|| "no target".to_string()),
            })
            .collect(),
        ..Snapshot::default()
    }
}

#[test]
fn policies_become_overrides_of_their_containers_in_the_target_workload() {
    let vpa = VpaBuilder::new("ns", "web-vpa")
        .container("app")
        .policy_with(|p| {
            p.oom_bump_up_ratio = q("2.5");
            p.oom_min_bump_up = q("200Mi");
        })
        .container("*")
        .policy_with(|p| {
            p.memory_aggregation_interval_seconds = Some(3600);
            p.memory_aggregation_interval_count = Some(3);
        })
        .container("plain")
        .max_allowed("1", "")
        .build();
    let untargeted = VpaBuilder::new("ns", "lost-vpa")
        .container("app")
        .policy_with(|p| p.oom_bump_up_ratio = q("3"))
        .build();
    let s = snapshot(vec![(vpa, Some("Deployment/web")), (untargeted, None)]);
    let o = overrides(&s);
    let app = o.get("ns", "Deployment/web", "app").unwrap();
    assert_eq!(app.oom_bump_up_ratio, Some(2.5));
    assert_eq!(app.oom_min_bump_up_bytes, Some(200.0 * 1024.0 * 1024.0));
    assert_eq!(
        app.memory_aggregation_interval, None,
        "a named policy replaces the * policy entirely, as for every policy field"
    );
    let proxy = o.get("ns", "Deployment/web", "proxy").unwrap();
    assert_eq!(proxy.memory_aggregation_interval, Some(3600));
    assert_eq!(proxy.memory_aggregation_interval_count, Some(3));
    assert_eq!(
        o.get("ns", "Deployment/web", "plain"),
        None,
        "a policy setting none of the fields overrides nothing (the * entry does not reach it)"
    );
    assert_eq!(o.get("ns", "Deployment/lost", "app"), None);
}

#[test]
fn values_validation_would_refuse_keep_the_flags() {
    let vpa = VpaBuilder::new("ns", "web-vpa")
        .container("app")
        .policy_with(|p| {
            p.oom_bump_up_ratio = q("0.5");
            p.oom_min_bump_up = q("lots");
            p.memory_aggregation_interval_seconds = Some(0);
            p.memory_aggregation_interval_count = Some(-1);
        })
        .build();
    assert_eq!(vpa_overrides(&vpa), None);
    assert!(overrides(&snapshot(vec![(vpa, Some("Deployment/web"))])).is_empty());
}

#[test]
fn ignored_fields_are_named_once_in_policy_order() {
    let vpa = VpaBuilder::new("ns", "web-vpa")
        .container("app")
        .policy_with(|p| {
            p.memory_aggregation_interval_count = Some(2);
            p.oom_min_bump_up = q("1Mi");
        })
        .container("*")
        .policy_with(|p| p.oom_min_bump_up = q("2Mi"))
        .build();
    assert_eq!(
        ignored_fields(&vpa),
        ["oomMinBumpUp", "memoryAggregationIntervalCount"]
    );
    assert!(ignored_fields(&VpaBuilder::new("ns", "plain").build()).is_empty());
}
