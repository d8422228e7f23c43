//! A custom workload kind with a scale subresource (an Argo-Rollout-like CRD), for tests of
//! VPA targets outside the well-known kinds.

/// An Argo-Rollout-like CRD (`rollouts.example.com`, kind `Rollout`, v1) with a scale
/// subresource whose selector is read at `.status.selector`, as Kubernetes does: the custom
/// workload kind that tests of scale-subresource targets use.
pub fn rollout_crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "rollouts.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout", "listKind": "RolloutList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}}]}
    }))
    .expect("valid CRD")
}

/// Creates [`rollout_crd`] through `client`, waits until the API server serves it, then creates
/// Rollout `namespace/name` selecting pods labelled `app=<app>` with `replicas`, its status
/// carrying the selector string the scale subresource reports. Returns the stored object.
pub async fn create_rollout(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    app: &str,
    replicas: i32,
) -> kube::api::DynamicObject {
    use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
    use kube::core::{ApiResource, GroupVersionKind};
    use serde_json::json;

    Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &rollout_crd())
        .await
        .expect("create the Rollout CRD");
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Rollout"),
        "rollouts",
    );
    let rollouts: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let created = loop {
        let object = DynamicObject::new(name, &resource).data(
            json!({"spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}}}),
        );
        match rollouts.create(&PostParams::default(), &object).await {
            Ok(created) => break created,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "CRD never served: {e}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let status = json!({"status": {"replicas": replicas, "selector": format!("app={app}")}});
    rollouts
        .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("set the Rollout's status");
    created
}
