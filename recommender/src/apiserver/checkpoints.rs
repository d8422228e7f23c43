//! The checkpoint requests (edge): list in pages, write (patch or create) and delete. Which
//! checkpoints to restore, write and delete is decided in [`crate::routines::checkpoints`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use kube::Client;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::warn;
use vpa_common::api::{VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointStatus};

use super::raw;

/// Checkpoints listed per request: memory stays bounded by a page whatever their number.
pub const LIST_PAGE: u32 = 500;

/// One page of a list with each item still JSON text, so that an object that does not decode
/// (a corrupt or hand-edited checkpoint) is skipped alone instead of failing the whole page, and
/// with it every restore.
#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<Box<RawValue>>,
}

/// Lists every checkpoint of kind `K` (whole checkpoints, or
/// [`CheckpointMeta`](crate::routines::checkpoints::CheckpointMeta)) of one
/// namespace or all, a page of [`LIST_PAGE`] at a time, handing each page to `page`; returns how
/// many were listed. A checkpoint that does not decode as `K` is skipped with a warning naming it.
pub async fn list_pages<K>(
    client: &Client,
    namespace: Option<&str>,
    mut page: impl FnMut(Vec<K>),
) -> Result<usize, kube::Error>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + serde::de::DeserializeOwned,
{
    let request = kube::core::Request::new(K::url_path(&(), namespace));
    let mut params = ListParams::default().limit(LIST_PAGE);
    let mut listed = 0;
    loop {
        let list: RawPage = client
            .request(request.list(&params).map_err(kube::Error::BuildRequest)?)
            .await?;
        listed += list.items.len();
        let items = list.items.iter().filter_map(|item| decode(item)).collect();
        let next = list.metadata.continue_.filter(|token| !token.is_empty());
        page(items);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(listed),
        }
    }
}

/// One listed checkpoint as `K`; `None` (with a warning naming it) when it does not decode.
fn decode<K: serde::de::DeserializeOwned>(item: &RawValue) -> Option<K> {
    serde_json::from_str(item.get())
        .inspect_err(|error| {
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Named {
                metadata: Names,
            }
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Names {
                namespace: String,
                name: String,
            }
            let named: Named = serde_json::from_str(item.get()).unwrap_or_default();
            warn!(
                namespace = %named.metadata.namespace,
                checkpoint = %named.metadata.name,
                %error,
                "Skipping unreadable checkpoint"
            );
        })
        .ok()
}

/// The JSON Patch (RFC 6902) that makes the stored checkpoint's status equal to `status`: one
/// `add` of `/status`, which replaces the whole status (histogram buckets the new one lacks go
/// with it) and also works on an object without a status. Upstream replaces `/status` the same
/// way. Serialised straight from the typed status: building a `serde_json::Value` with a `null`
/// for every absent bucket (as a merge patch needs) took a quarter of the recommender's CPU at
/// 10k VPAs.
pub fn status_patch(status: &VerticalPodAutoscalerCheckpointStatus) -> Vec<u8> {
    #[derive(Serialize)]
    struct Operation<'a> {
        op: &'static str,
        path: &'static str,
        value: &'a VerticalPodAutoscalerCheckpointStatus,
    }
    serde_json::to_vec(&[Operation {
        op: "add",
        path: "/status",
        value: status,
    }])
    .unwrap_or_default()
}

/// Writes one checkpoint: its status patched with [`status_patch`], or the whole object created.
/// `exists` says which to try first: a checkpoint already written or restored is patched (and
/// created if it has gone), a new one is created (and patched if it exists after all), so each
/// costs one request in the common case instead of a failed patch before every create. Only the
/// `patch` and `create` verbs are used, as upstream's RBAC grants. Responses are not decoded.
pub async fn write(
    client: &Client,
    checkpoint: &VerticalPodAutoscalerCheckpoint,
    exists: bool,
) -> Result<(), kube::Error> {
    let namespace = checkpoint.metadata.namespace.as_deref().unwrap_or_default();
    let name = checkpoint.metadata.name.as_deref().unwrap_or_default();
    let patch = || {
        let path = raw::object_path::<VerticalPodAutoscalerCheckpoint>(namespace, name, "");
        let body = status_patch(checkpoint.status.as_ref().unwrap_or(&Default::default()));
        async move { raw::patch(client, &path, raw::JSON_PATCH, body).await }
    };
    let create = || {
        let path = VerticalPodAutoscalerCheckpoint::url_path(&(), Some(namespace));
        let body = serde_json::to_vec(checkpoint).unwrap_or_default();
        async move { raw::post(client, &path, body).await }
    };
    let code = |result: &Result<(), kube::Error>| match result {
        Err(kube::Error::Api(e)) => Some(e.code),
        _ => None,
    };
    if exists {
        let first = patch().await;
        if code(&first) == Some(404) {
            return create().await;
        }
        first
    } else {
        let first = create().await;
        if code(&first) == Some(409) {
            return patch().await;
        }
        first
    }
}

/// Deletes the checkpoint `namespace/name`; one already gone counts as deleted.
pub async fn delete(client: &Client, namespace: &str, name: &str) -> Result<(), kube::Error> {
    let api: Api<VerticalPodAutoscalerCheckpoint> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &DeleteParams::default()).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Writes one VPA's checkpoints; returns the VPA when all were written (none given: skipped).
/// `exists`: the VPA's checkpoints were written or restored before, so they are patched first.
pub async fn write_all(
    client: Client,
    namespace: String,
    name: String,
    objects: Vec<VerticalPodAutoscalerCheckpoint>,
    exists: bool,
) -> Option<(String, String)> {
    if objects.is_empty() {
        return None;
    }
    for object in &objects {
        if let Err(error) = write(&client, object, exists).await {
            warn!(%namespace, vpa = %name, %error, "Cannot write checkpoint");
            return None;
        }
    }
    Some((namespace, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_patch_replaces_the_whole_status() {
        let status = vpa_common::api::VerticalPodAutoscalerCheckpointStatus {
            version: Some("v3".into()),
            cpu_histogram: Some(vpa_common::api::HistogramCheckpoint {
                bucket_weights: Some([(7, 10_000)].into()),
                total_weight: Some(1.5),
                reference_timestamp: None,
            }),
            ..Default::default()
        };
        let patch: json_patch::Patch = serde_json::from_slice(&status_patch(&status)).unwrap();
        // Applied to a stored checkpoint with other buckets and fields, it leaves exactly the
        // new status and keeps the spec.
        let mut stored = serde_json::json!({
            "spec": {"vpaObjectName": "web", "containerName": "app"},
            "status": {"version": "v3", "firstSampleStart": "2026-01-01T00:00:00Z",
                "cpuHistogram": {"bucketWeights": {"3": 5, "7": 1}, "totalWeight": 9},
                "memoryHistogram": {"bucketWeights": {"1": 2}}}
        });
        json_patch::patch(&mut stored, &patch).unwrap();
        assert_eq!(
            stored["status"],
            serde_json::json!({"version": "v3",
                "cpuHistogram": {"bucketWeights": {"7": 10_000}, "totalWeight": 1.5}})
        );
        assert_eq!(stored["spec"]["vpaObjectName"], "web");
        // An object stored without a status gets one.
        let mut bare = serde_json::json!({"spec": {}});
        json_patch::patch(&mut bare, &patch).unwrap();
        assert_eq!(bare["status"]["version"], "v3");
    }
}
