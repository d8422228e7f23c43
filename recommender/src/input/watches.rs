//! Watch caches (kube-runtime reflectors) of what the recommender reads every loop: VPAs, pods
//! and the controllers VPAs can target, plus two OOM sources: pod updates (compared with the
//! cached previous version) and `reason=Evicted` events. Cached objects are trimmed to the
//! fields the recommender reads, so tens of thousands of pods stay cheap. Edge.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::warn;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::controllers::ControllerWatches;
use vpa_common::watch::api;
use vpa_common::watch::compact::{CompactStore, reflect_compact};

use super::oom::{OomEvent, ooms_in_eviction_event, ooms_in_pod_update};
use super::pod::{CachedPod, LabelInterner, PodReduction, WirePod};
use super::vpa::CachedVpa;

/// Field selector of the pods modelled: everything past Pending, as upstream.
pub const POD_FIELD_SELECTOR: &str = "status.phase!=Pending";
/// Field selector of the events that can carry OOM kills.
pub const EVICTION_EVENT_FIELD_SELECTOR: &str = "reason=Evicted";
/// OOM kills buffered between loops (upstream's channel size).
pub const OOM_BUFFER: usize = 5000;

/// The caches; dropping this stops every watch.
pub struct Watches {
    /// VPAs.
    pub vpas: CompactStore<CachedVpa>,
    /// Pods past Pending.
    pub pods: CompactStore<CachedPod>,
    /// The well-known controllers: their controlling owner and pod selector.
    pub controllers: ControllerWatches,
    _tasks: JoinSet<()>,
}

fn ignore<K>(_: Option<&K>, _: &K) {}

impl Watches {
    /// Starts every watch (all namespaces, or only `namespace`); OOM kills go to `ooms`; pods
    /// are cached as `reduction` says (native sidecars or not). Eviction events listed at start
    /// (history, not news) are ignored.
    pub fn start(
        client: &Client,
        namespace: Option<&str>,
        ooms: mpsc::Sender<OomEvent>,
        reduction: PodReduction,
    ) -> Self {
        let mut tasks = JoinSet::new();
        let all = watcher::Config::default;
        let pod_ooms = ooms.clone();
        let mut labels = LabelInterner::default();
        let pods = reflect_compact(
            api::<WirePod>(client, namespace),
            all().fields(POD_FIELD_SELECTOR),
            &mut tasks,
            move |pod| CachedPod::reduce(pod, &mut labels, reduction),
            // Only updates count, as upstream: a pod first seen already OOM-killed (for example
            // after a restart of the recommender) was most likely counted before.
            move |old: Option<&CachedPod>, new: &CachedPod| {
                let Some(old) = old else { return };
                for oom in ooms_in_pod_update(Some(old), new) {
                    let _ = pod_ooms.try_send(oom);
                }
            },
        );
        let events: Api<Event> = api(client, namespace);
        let stream = watcher(events, all().fields(EVICTION_EVENT_FIELD_SELECTOR)).default_backoff();
        tasks.spawn(async move {
            stream
                .for_each(|event| {
                    match event {
                        Ok(watcher::Event::Apply(e)) => {
                            for oom in ooms_in_eviction_event(&e) {
                                let _ = ooms.try_send(oom);
                            }
                        }
                        Err(error) => warn!(kind = "Event", %error, "Watch error; retrying"),
                        Ok(_) => {}
                    }
                    futures::future::ready(())
                })
                .await;
        });
        let controllers = ControllerWatches::start(client, namespace, &mut tasks);
        Self {
            vpas: reflect_compact(
                api::<VerticalPodAutoscaler>(client, namespace),
                all(),
                &mut tasks,
                CachedVpa::from,
                ignore,
            ),
            pods,
            controllers,
            _tasks: tasks,
        }
    }

    /// Waits for the first full list of VPAs and pods, and of each controller kind for at most
    /// `controllers_timeout` (a kind the server does not serve stays empty, with a warning).
    pub async fn wait_ready(&self, controllers_timeout: Duration) -> anyhow::Result<()> {
        let (vpas, pods) = (self.vpas.clone(), self.pods.clone());
        let core: Pin<Box<dyn Future<Output = bool> + Send>> =
            Box::pin(async move { vpas.wait_until_ready().await && pods.wait_until_ready().await });
        if !core.await {
            anyhow::bail!("the VPA or pod watch stopped before its first list");
        }
        for kind in self.controllers.unsynced_within(controllers_timeout).await {
            warn!(
                kind,
                "Controller cache not synced; VPAs targeting this kind wait for it"
            );
        }
        Ok(())
    }
}
