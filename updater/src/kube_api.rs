//! [`ClusterApi`] over a real API server (edge): watch caches (reflectors) for VPAs, pods and
//! LimitRanges, the shared controller caches (`vpa_common::controllers`), so a loop reads memory instead of listing everything; direct
//! calls for the Lease, evictions, resizes, patches and events.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, LimitRange, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tracing::{debug, warn};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::controllers::{ControllerWatches, Controllers};
use vpa_common::scale::ScaleCache;
use vpa_common::watch::{api, cache};

use crate::cluster_api::{ActionError, ClusterApi, ClusterError, UpdaterEvent};
use crate::pod::PodKey;

/// Field selector of the pods the updater watches: scheduled and not finished, as upstream.
pub const POD_FIELD_SELECTOR: &str = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed";

/// Watch caches plus a client; dropping it stops the watches.
pub struct KubeApi {
    client: Client,
    vpas: Store<VerticalPodAutoscaler>,
    pods: Store<Pod>,
    limit_ranges: Store<LimitRange>,
    controllers: ControllerWatches,
    /// Selectors of VPA targets of other kinds, from their scale subresource.
    scales: tokio::sync::Mutex<ScaleCache>,
    _tasks: JoinSet<()>,
}

impl KubeApi {
    /// Starts the watches (all namespaces, or only `namespace`). Call [`Self::wait_ready`]
    /// before the first loop.
    pub fn start(client: Client, namespace: Option<&str>) -> Self {
        let mut tasks = JoinSet::new();
        let all = watcher::Config::default;
        Self {
            vpas: cache(api(&client, namespace), all(), &mut tasks),
            pods: cache(
                api(&client, namespace),
                all().fields(POD_FIELD_SELECTOR),
                &mut tasks,
            ),
            limit_ranges: cache(api(&client, namespace), all(), &mut tasks),
            controllers: ControllerWatches::start(&client, namespace, &mut tasks),
            scales: tokio::sync::Mutex::new(ScaleCache::new(client.clone())),
            client,
            _tasks: tasks,
        }
    }

    /// Waits until the VPA, pod and LimitRange caches have their first full list, and the
    /// controller caches too for at most `controllers_timeout` (waited in parallel): a kind the API server does not
    /// serve (or RBAC hides) then stays empty with a warning instead of blocking the updater.
    pub async fn wait_ready(&self, controllers_timeout: Duration) -> Result<(), ClusterError> {
        let not_ready = |_| ClusterError::NotReady;
        self.vpas.wait_until_ready().await.map_err(not_ready)?;
        self.pods.wait_until_ready().await.map_err(not_ready)?;
        self.limit_ranges
            .wait_until_ready()
            .await
            .map_err(not_ready)?;
        for kind in self.controllers.unsynced_within(controllers_timeout).await {
            warn!(
                kind,
                "Controller cache not synced; pods of this kind are skipped until it is"
            );
        }
        Ok(())
    }

    fn pods_api(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

fn read_error(e: kube::Error) -> ClusterError {
    match e {
        kube::Error::Api(status) => ClusterError::Api {
            code: status.code,
            message: status.message,
        },
        other => ClusterError::Transport(other.to_string()),
    }
}

fn action_error(e: kube::Error) -> ActionError {
    match e {
        kube::Error::Api(status) if status.code == 429 => {
            ActionError::TooManyRequests(status.message)
        }
        kube::Error::Api(status) if status.code == 404 => ActionError::NotFound,
        kube::Error::Api(status) => ActionError::Api {
            code: status.code,
            message: status.message,
        },
        other => ActionError::Transport(other.to_string()),
    }
}

impl ClusterApi for KubeApi {
    async fn lease(&self, namespace: &str, name: &str) -> Result<Option<Lease>, ClusterError> {
        Api::<Lease>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(read_error)
    }

    async fn list_vpas(&self) -> Result<Vec<Arc<VerticalPodAutoscaler>>, ClusterError> {
        Ok(self.vpas.state())
    }

    async fn list_pods(&self) -> Result<Vec<Arc<Pod>>, ClusterError> {
        Ok(self.pods.state())
    }

    async fn list_limit_ranges(&self) -> Result<Vec<LimitRange>, ClusterError> {
        Ok(self
            .limit_ranges
            .state()
            .iter()
            .map(|l| (**l).clone())
            .collect())
    }

    async fn controllers(&self) -> Result<Controllers, ClusterError> {
        let mut scales = self.scales.lock().await;
        scales.refresh(self.vpas.state()).await;
        Ok(self.controllers.snapshot(&scales))
    }

    async fn evict(&self, pod: &PodKey) -> Result<(), ActionError> {
        let body = json!({
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod.name, "namespace": pod.namespace},
        });
        self.pods_api(&pod.namespace)
            .create_subresource::<Value, Value>(
                "eviction",
                &pod.name,
                &PostParams::default(),
                &body,
            )
            .await
            .map(|_| ())
            .map_err(action_error)
    }

    async fn resize(&self, pod: &PodKey, patch: &Value) -> Result<(), ActionError> {
        let patch = json_patch_of(patch)?;
        self.pods_api(&pod.namespace)
            .patch_resize(
                &pod.name,
                &PatchParams::default(),
                &Patch::<()>::Json(patch),
            )
            .await
            .map(|_| ())
            .map_err(action_error)
    }

    async fn patch_pod(&self, pod: &PodKey, patch: &Value) -> Result<(), ActionError> {
        let patch = json_patch_of(patch)?;
        self.pods_api(&pod.namespace)
            .patch(
                &pod.name,
                &PatchParams::default(),
                &Patch::<()>::Json(patch),
            )
            .await
            .map(|_| ())
            .map_err(action_error)
    }

    async fn publish(&self, event: UpdaterEvent) {
        let namespace = event
            .regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let record = core_event(&event, crate::time::now());
        let events: Api<CoreEvent> = Api::namespaced(self.client.clone(), &namespace);
        match events.create(&PostParams::default(), &record).await {
            Ok(_) => debug!(reason = %event.reason, "Event recorded"),
            Err(error) => warn!(reason = %event.reason, %error, "Cannot record event"),
        }
    }
}

/// A `core/v1` Event from component `vpa-updater`, as upstream's event recorder writes them
/// (shown by `kubectl describe` and `kubectl get events`).
pub fn core_event(event: &UpdaterEvent, now: k8s_openapi::jiff::Timestamp) -> CoreEvent {
    let regarding = &event.regarding;
    let name = format!(
        "{}.{:x}",
        regarding.name.as_deref().unwrap_or("vpa-updater"),
        now.as_nanosecond()
    );
    CoreEvent {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: regarding.namespace.clone(),
            ..Default::default()
        },
        involved_object: regarding.clone(),
        reason: Some(event.reason.clone()),
        message: Some(event.note.clone()),
        type_: Some(if event.warning { "Warning" } else { "Normal" }.into()),
        source: Some(EventSource {
            component: Some("vpa-updater".into()),
            host: None,
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        reporting_component: Some("vpa-updater".into()),
        reporting_instance: std::env::var("POD_NAME").ok(),
        ..Default::default()
    }
}

/// A JSON Patch (RFC 6902) document given as JSON, typed for kube's `Patch::Json`.
fn json_patch_of(patch: &Value) -> Result<json_patch::Patch, ActionError> {
    serde_json::from_value(patch.clone()).map_err(|e| ActionError::Transport(e.to_string()))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ObjectReference;

    use super::*;

    #[test]
    fn events_are_core_v1_from_the_vpa_updater_component() {
        let event = UpdaterEvent {
            regarding: ObjectReference {
                kind: Some("Pod".into()),
                namespace: Some("ns".into()),
                name: Some("app-1".into()),
                ..Default::default()
            },
            reason: "EvictedByVPA".into(),
            note: "Pod was evicted by VPA Updater to apply resource recommendation.".into(),
            warning: false,
        };
        let now = k8s_openapi::jiff::Timestamp::from_second(1000).unwrap();
        let e = core_event(&event, now);
        assert_eq!(e.metadata.namespace.as_deref(), Some("ns"));
        assert!(e.metadata.name.unwrap().starts_with("app-1."));
        assert_eq!(e.reason.as_deref(), Some("EvictedByVPA"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!(e.source.unwrap().component.as_deref(), Some("vpa-updater"));
        assert_eq!(e.involved_object.name.as_deref(), Some("app-1"));
        assert_eq!(e.count, Some(1));
    }
}
