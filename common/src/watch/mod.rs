//! Watch caches (kube-runtime reflectors) as the components start them (edge): one reflector
//! task per kind, managed fields dropped, objects trimmed to what the component reads, errors
//! logged and retried with kube-runtime's default backoff.

use std::fmt::Debug;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// The API of a namespaced kind in `namespace`, or in all namespaces.
pub fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Spawns on `tasks` a reflector of `api` filtered by `config`; every object has its managed
/// fields dropped and is then passed to `trim`, and `on_apply` sees the cached previous version
/// (if any) and the new one before the cache takes it (e.g. to spot OOM kills).
pub fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    tasks: &mut JoinSet<()>,
    trim: fn(&mut K),
    mut on_apply: impl FnMut(Option<&K>, &K) + Send + 'static,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let previous = reader.clone();
    let kind = K::kind(&()).to_string();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(move |o: &mut K| {
            o.managed_fields_mut().clear();
            trim(o);
        })
        .map(move |event| {
            if let Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) = &event {
                let old = previous.get(&ObjectRef::from_obj(o));
                on_apply(old.as_deref(), o);
            }
            event
        })
        .reflect(writer)
        .applied_objects();
    tasks.spawn(async move {
        stream
            .for_each(|event| {
                match event {
                    // An API server without this resource (no HPAs, no ReplicationControllers):
                    // expected on some clusters, so not a warning on every retry.
                    Err(watcher::Error::InitialListFailed(kube::Error::Api(s)))
                        if s.code == 404 =>
                    {
                        debug!(%kind, "Resource not served; retrying");
                    }
                    Err(error) => warn!(%kind, %error, "Watch error; retrying"),
                    Ok(_) => {}
                }
                futures::future::ready(())
            })
            .await;
    });
    reader
}

/// A reflector keeping whole objects (but managed fields).
pub fn cache<K>(api: Api<K>, config: watcher::Config, tasks: &mut JoinSet<()>) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    reflect(api, config, tasks, |_| {}, |_, _| {})
}

pub mod compact;
