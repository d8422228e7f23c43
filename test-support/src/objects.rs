//! Objects from JSON and the cluster-wide setup every test needs (edge): the VPA CRDs and
//! namespaces, created through a client of any API server (vpa-sim or the real control plane).

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A typed object from JSON; panics when it does not fit `T`.
pub fn object<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Creates the object `v` through `api` and returns what the server stored; panics on failure.
pub async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &object(v))
        .await
        .unwrap()
}

/// Creates the VPA CRDs (`vpa_common::crd::crds`).
pub async fn install_vpa_crds(client: &kube::Client) -> kube::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in vpa_common::crd::crds() {
        crds.create(&PostParams::default(), &crd).await?;
    }
    Ok(())
}

/// Creates the namespaces `names`; those that exist already are left alone.
pub async fn create_namespaces(client: &kube::Client, names: &[&str]) {
    let api: Api<Namespace> = Api::all(client.clone());
    for name in names {
        let ns = object(json!({"metadata": {"name": name}}));
        let _ = api.create(&PostParams::default(), &ns).await;
    }
}
