//! VPA validation: each rule rejects with a message naming the field; warnings.

use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use vpa_common::api::{
    ContainerControlledValues, ContainerScalingMode, UpdateMode, VerticalPodAutoscaler,
};
use vpa_common::testutil::VpaBuilder;

use super::*;

fn vpa() -> VpaBuilder {
    VpaBuilder::new("ns", "hamster-vpa").container("hamster")
}

fn invalid(v: &VerticalPodAutoscaler) -> String {
    validate(v, FeatureGates::default(), None).expect_err("should be rejected")
}

#[test]
fn valid_vpa_passes() {
    let v = vpa()
        .mode(UpdateMode::Recreate)
        .min_allowed("100m", "50Mi")
        .max_allowed("1", "1Gi")
        .build();
    assert_eq!(validate(&v, FeatureGates::default(), None), Ok(()));
}

#[test]
fn each_rule_names_its_field() {
    let mut no_mode = vpa().build();
    no_mode.spec.update_policy = Some(Default::default());
    assert!(invalid(&no_mode).contains("updateMode"));

    let mut min_replicas = vpa().mode(UpdateMode::Recreate).build();
    min_replicas
        .spec
        .update_policy
        .as_mut()
        .unwrap()
        .min_replicas = Some(0);
    assert!(invalid(&min_replicas).contains("minReplicas"));

    assert!(invalid(&vpa().mode(UpdateMode::InPlace).build()).contains("InPlace"));

    let mut no_name = vpa().max_allowed("1", "").build();
    no_name
        .spec
        .resource_policy
        .as_mut()
        .unwrap()
        .container_policies
        .as_mut()
        .unwrap()[0]
        .container_name = None;
    assert!(invalid(&no_name).contains("containerName"));

    assert!(
        invalid(&vpa().min_allowed("2", "").max_allowed("1", "").build())
            .contains("max resource for cpu is lower than min")
    );
    assert!(
        invalid(&vpa().min_allowed("0.0001", "").build()).contains("whole number of milli CPUs")
    );
    assert!(invalid(&vpa().max_allowed("", "0.5").build()).contains("whole number of bytes"));

    let off_with_values = vpa()
        .container_mode(ContainerScalingMode::Off)
        .controlled_values(ContainerControlledValues::RequestsAndLimits)
        .build();
    assert!(invalid(&off_with_values).contains("controlledValues"));

    let mut two = vpa().build();
    two.spec.recommenders = Some(vec![
        vpa_common::api::VerticalPodAutoscalerRecommenderSelector { name: "a".into() },
        vpa_common::api::VerticalPodAutoscalerRecommenderSelector { name: "b".into() },
    ]);
    assert!(invalid(&two).contains("recommenders"));
}

#[test]
fn gated_fields_need_their_gate_or_the_old_object() {
    let mut v = vpa().max_allowed("1", "").build();
    v.spec
        .resource_policy
        .as_mut()
        .unwrap()
        .container_policies
        .as_mut()
        .unwrap()[0]
        .oom_bump_up_ratio = Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        "1.5".into(),
    ));
    assert!(invalid(&v).contains("PerVPAConfig"));
    let gates = FeatureGates {
        per_vpa_config: true,
        ..Default::default()
    };
    assert_eq!(validate(&v, gates, None), Ok(()));
    assert_eq!(validate(&v, FeatureGates::default(), Some(&v)), Ok(()));
    v.spec
        .resource_policy
        .as_mut()
        .unwrap()
        .container_policies
        .as_mut()
        .unwrap()[0]
        .oom_bump_up_ratio = Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        "0.5".into(),
    ));
    assert!(
        validate(&v, gates, None)
            .unwrap_err()
            .contains("oomBumpUpRatio")
    );
}

fn q(text: &str) -> Option<k8s_openapi::apimachinery::pkg::api::resource::Quantity> {
    Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        text.into(),
    ))
}

#[test]
fn in_place_mode_needs_its_feature_gate_unless_the_old_object_used_it() {
    let in_place = vpa().mode(UpdateMode::InPlace).build();
    let message = invalid(&in_place);
    assert!(
        message.contains("updateMode InPlace requires feature gate InPlace"),
        "{message}"
    );
    let gated = FeatureGates {
        in_place: true,
        ..Default::default()
    };
    assert_eq!(validate(&in_place, gated, None), Ok(()));
    // An update of a VPA already in InPlace mode (created while the gate was on) still passes.
    let mut edited = in_place.clone();
    edited.spec.update_policy.as_mut().unwrap().min_replicas = Some(3);
    assert_eq!(
        validate(&edited, FeatureGates::default(), Some(&in_place)),
        Ok(())
    );
    // Switching an existing VPA to InPlace does not.
    let recreate = vpa().mode(UpdateMode::Recreate).build();
    assert!(validate(&in_place, FeatureGates::default(), Some(&recreate)).is_err());
    // InPlaceOrRecreate is GA and needs no gate.
    let ga = vpa().mode(UpdateMode::InPlaceOrRecreate).build();
    assert_eq!(validate(&ga, FeatureGates::default(), None), Ok(()));
}

#[test]
fn each_per_vpa_field_needs_the_gate_or_the_old_object() {
    type Set = fn(&mut vpa_common::api::ContainerResourcePolicy);
    let cases: [(&str, Set); 4] = [
        ("oomBumpUpRatio", |p| p.oom_bump_up_ratio = q("2")),
        ("oomMinBumpUp", |p| p.oom_min_bump_up = q("200Mi")),
        ("memoryAggregationIntervalSeconds", |p| {
            p.memory_aggregation_interval_seconds = Some(3600)
        }),
        ("memoryAggregationIntervalCount", |p| {
            p.memory_aggregation_interval_count = Some(2)
        }),
    ];
    let gated = FeatureGates {
        per_vpa_config: true,
        ..Default::default()
    };
    for (name, set) in cases {
        let mut v = vpa().max_allowed("1", "").build();
        set(&mut v
            .spec
            .resource_policy
            .as_mut()
            .unwrap()
            .container_policies
            .as_mut()
            .unwrap()[0]);
        assert_eq!(
            invalid(&v),
            format!(
                "spec.resourcePolicy.containerPolicies[0].{name}: Forbidden: not supported when feature flag PerVPAConfig is disabled"
            )
        );
        assert_eq!(validate(&v, gated, None), Ok(()), "{name}");
        assert_eq!(
            validate(&v, FeatureGates::default(), Some(&v)),
            Ok(()),
            "{name} kept from the old object"
        );
    }
    let mut oom_seconds = vpa().mode(UpdateMode::Recreate).build();
    oom_seconds
        .spec
        .update_policy
        .as_mut()
        .unwrap()
        .evict_after_oom_seconds = Some(300);
    assert!(
        invalid(&oom_seconds).contains("evictAfterOOMSeconds requires feature gate PerVPAConfig")
    );
    assert_eq!(validate(&oom_seconds, gated, None), Ok(()));
}

fn hpa(metric: Option<&str>) -> Arc<HorizontalPodAutoscaler> {
    let metrics = metric.map(|m| {
        vec![MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: m.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }]
    });
    Arc::new(HorizontalPodAutoscaler {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("h".into()),
            ..Default::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                kind: "Deployment".into(),
                name: "hamster".into(),
                api_version: None,
            },
            metrics,
            max_replicas: 5,
            ..Default::default()
        }),
        status: None,
    })
}

#[test]
fn warns_on_auto_mode_hpa_overlap_and_single_replica_eviction() {
    let v = vpa().mode(UpdateMode::Auto).build();
    assert!(warnings(&v, &Context::default())[0].contains("deprecated"));

    let hpas = [hpa(Some("cpu"))];
    let w = warnings(
        &vpa().build(),
        &Context {
            hpas: &hpas,
            ..Default::default()
        },
    );
    assert!(
        w.iter()
            .any(|w| w.contains("HorizontalPodAutoscaler h") && w.contains("cpu")),
        "{w:?}"
    );

    let only_memory_vpa = vpa().controlled_resources(&["memory"]).build();
    assert!(
        warnings(
            &only_memory_vpa,
            &Context {
                hpas: &hpas,
                ..Default::default()
            }
        )
        .is_empty()
    );
    let default_cpu_hpa = [hpa(None)];
    assert!(
        !warnings(
            &vpa().build(),
            &Context {
                hpas: &default_cpu_hpa,
                ..Default::default()
            }
        )
        .is_empty()
    );

    let mut single = vpa().mode(UpdateMode::Recreate).build();
    single.spec.update_policy.as_mut().unwrap().min_replicas = Some(1);
    let w = warnings(
        &single,
        &Context {
            target_replicas: Some(1),
            ..Default::default()
        },
    );
    assert!(w.iter().any(|w| w.contains("only replica")), "{w:?}");
    assert!(
        warnings(
            &vpa().mode(UpdateMode::Initial).build(),
            &Context {
                target_replicas: Some(1),
                ..Default::default()
            }
        )
        .is_empty()
    );
}

#[test]
fn controlled_resources_other_than_cpu_and_memory_are_rejected() {
    let storage = vpa()
        .controlled_resources(&["cpu", "ephemeral-storage"])
        .build();
    let message = invalid(&storage);
    assert!(
        message.starts_with("spec.resourcePolicy.containerPolicies[0].controlledResources[1]")
            && message.contains("\"ephemeral-storage\"")
            && message.contains("only cpu and memory"),
        "{message}"
    );
    let both = vpa().controlled_resources(&["memory", "cpu"]).build();
    assert_eq!(validate(&both, FeatureGates::default(), None), Ok(()));
    assert!(warnings(&both, &Context::default()).is_empty());
}

#[test]
fn unsupported_controlled_resources_of_an_existing_vpa_are_kept_on_update_with_a_warning() {
    let gates = FeatureGates::default();
    let old = vpa().controlled_resources(&["cpu", "gpu"]).build();
    let edited = vpa()
        .mode(UpdateMode::Initial)
        .controlled_resources(&["cpu", "gpu"])
        .build();
    assert_eq!(validate(&edited, gates, Some(&old)), Ok(()));
    let ctx = Context {
        old: Some(&old),
        ..Default::default()
    };
    assert_eq!(
        warnings(&edited, &ctx),
        [
            "spec.resourcePolicy.containerPolicies[0].controlledResources: \"gpu\" is ignored; only cpu and memory can be controlled"
        ]
    );
    let added = vpa().controlled_resources(&["gpu", "storage"]).build();
    let message = validate(&added, gates, Some(&old)).unwrap_err();
    assert!(
        message.contains("controlledResources[1]") && message.contains("storage"),
        "{message}"
    );
}

#[test]
fn defaulting_adds_update_policy_only_when_missing() {
    assert_eq!(defaulting_patch(&vpa().build()).len(), 1);
    assert!(defaulting_patch(&vpa().mode(UpdateMode::Initial).build()).is_empty());
}
