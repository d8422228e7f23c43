//! The admission controller's state for the `admission_review` target (pure): the hamster
//! example's Deployment and ReplicaSet, a VPA with a recommendation for them, a VPA with an
//! unparsable recommendation in namespace `bad`, and a LimitRange, so that the pod path reaches
//! matching, capping, limit scaling and patching.

use std::sync::{Arc, OnceLock};

use k8s_openapi::api::core::v1::LimitRange;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use serde_json::json;
use vpa_admission_controller::handler::{AppState, DEFAULT_BODY_TIMEOUT};
use vpa_admission_controller::metrics::Metrics;
use vpa_admission_controller::validation::FeatureGates;
use vpa_admission_controller::view::StaticView;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::controllers::{ControllerInfo, Controllers, Replicas};

/// The namespaces the view knows controllers in.
pub const NAMESPACES: [&str; 2] = ["default", "bad"];

fn selector() -> LabelSelector {
    serde_json::from_value(json!({"matchLabels": {"app": "hamster"}})).expect("a selector")
}

fn controllers() -> Controllers {
    let owner: OwnerReference = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "hamster",
        "uid": "4f0b9d52-1c1e-4d0e-9f4b-2a3c9d8e7f60", "controller": true
    }))
    .expect("an owner reference");
    let mut controllers = Controllers::default();
    for ns in NAMESPACES {
        let deployment = ControllerInfo::new(None, Some(selector()), Some(Replicas::Desired(1)));
        controllers.insert(ns, "Deployment", "hamster", deployment);
        let replica_set = ControllerInfo::new(
            Some(owner.clone()),
            Some(selector()),
            Some(Replicas::Desired(1)),
        );
        controllers.insert(ns, "ReplicaSet", "hamster-5d7c6c6b5f", replica_set);
    }
    controllers
}

fn vpa(namespace: &str, cpu_target: &str) -> VerticalPodAutoscaler {
    let rec = |cpu: &str, memory: &str| json!({"cpu": cpu, "memory": memory});
    serde_json::from_value(json!({
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "hamster-vpa", "namespace": namespace},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hamster"},
            "updatePolicy": {"updateMode": "InPlaceOrRecreate"},
            "startupBoost": {"cpu": {"type": "Factor", "factor": 2}},
            "resourcePolicy": {"containerPolicies": [
                {"containerName": "*", "minAllowed": {"cpu": "100m", "memory": "50Mi"},
                 "maxAllowed": {"cpu": "1", "memory": "500Mi"},
                 "controlledValues": "RequestsAndLimits"},
                {"containerName": "sidecar", "mode": "Off"}
            ]}
        },
        "status": {"recommendation": {"containerRecommendations": [
            {"containerName": "hamster", "target": rec(cpu_target, "200Mi"),
             "lowerBound": rec("100m", "100Mi"), "upperBound": rec("2", "1Gi"),
             "uncappedTarget": rec(cpu_target, "200Mi")},
            {"containerName": "init", "target": rec("50m", "20Mi")}
        ]}}
    }))
    .expect("a VPA")
}

fn limit_range() -> LimitRange {
    serde_json::from_value(json!({
        "metadata": {"name": "limits", "namespace": "default"},
        "spec": {"limits": [
            {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"},
             "min": {"cpu": "10m"}, "maxLimitRequestRatio": {"cpu": "4"}},
            {"type": "Pod", "max": {"cpu": "4", "memory": "2Gi"}}
        ]}
    }))
    .expect("a LimitRange")
}

/// The handler's state with `gates`, over the fixed view described in the module docs.
pub fn state(gates: FeatureGates) -> AppState {
    let mut view = StaticView::new(
        vec![vpa("default", "250m"), vpa("bad", "lots")],
        controllers(),
    );
    view.limit_ranges = vec![limit_range()];
    AppState {
        view: Arc::new(view),
        metrics: Arc::new(Metrics::new()),
        gates,
        max_allowed_cpu_boost: Some(1500),
        body_timeout: DEFAULT_BODY_TIMEOUT,
    }
}

/// Every gate off (the default) and every gate on.
pub const GATE_SETS: [FeatureGates; 2] = [
    FeatureGates {
        in_place: false,
        per_vpa_config: false,
        cpu_startup_boost: false,
        native_sidecar: false,
    },
    FeatureGates {
        in_place: true,
        per_vpa_config: true,
        cpu_startup_boost: true,
        native_sidecar: true,
    },
];

/// The states of [`GATE_SETS`], built once per process.
pub fn states() -> &'static [AppState; 2] {
    static STATES: OnceLock<[AppState; 2]> = OnceLock::new();
    STATES.get_or_init(|| GATE_SETS.map(state))
}
