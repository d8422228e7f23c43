//! One loop's view of the cluster (pure): the handled VPAs with their target resolved to a
//! workload and a pod selector, and the pods mapped to their workload. Built from watch-cache
//! contents; nothing here talks to the API server.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use vpa_common::api::VerticalPodAutoscaler;
pub use vpa_common::controllers::Controllers;
use vpa_common::matching::{ControllerKey, ControllerLookup, target_key, topmost_controller_from};

use super::pod::CachedPod;
use super::vpa::CachedVpa;
use crate::config::DEFAULT_RECOMMENDER_NAME;
use crate::config::stored_status::StoredStatus;
use crate::model::Timestamp;
use vpa_common::policy::NamespaceFilter;

/// The workload id of a controller: `Kind/name`, unique within a namespace. It keys the model's
/// aggregates, so pods of a workload and the VPA targeting it meet there.
pub fn workload_id(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// Whether a recommender named `name` handles `vpa`: it is named in `spec.recommenders`, or the
/// list is empty and this is the default recommender.
pub fn handles(vpa: &VerticalPodAutoscaler, name: &str) -> bool {
    match vpa.spec.recommenders.as_deref() {
        None | Some([]) => name == DEFAULT_RECOMMENDER_NAME,
        Some(list) => list.iter().any(|r| r.name == name),
    }
}

/// A VPA's target as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct VpaTarget {
    /// Workload id of the target controller (see [`workload_id`]).
    pub workload: String,
    /// The target's pod selector (shared with the controller cache).
    pub selector: Arc<LabelSelector>,
}

/// One handled VPA.
#[derive(Clone, Debug)]
pub struct VpaInfo {
    /// The object as cached (without its status).
    pub vpa: Arc<VerticalPodAutoscaler>,
    /// What is stored of its status, if it has one.
    pub status: Option<Arc<StoredStatus>>,
    /// Its resolved target, or why it cannot be served (`ConfigUnsupported`).
    pub target: Result<VpaTarget, String>,
}

impl VpaInfo {
    /// Namespace of the VPA.
    pub fn namespace(&self) -> &str {
        self.vpa.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// Name of the VPA.
    pub fn name(&self) -> &str {
        self.vpa.metadata.name.as_deref().unwrap_or_default()
    }
}

/// One pod as the model sees it: the cached pod itself (names, labels, containers; reached
/// through `Deref`) and its workload. Sharing the cache's pod instead of copying its names and
/// container list into every snapshot saved 6 MiB per loop at 50k pods.
#[derive(Clone, Debug, PartialEq)]
pub struct PodInfo {
    /// The pod as cached.
    pub pod: Arc<CachedPod>,
    /// Workload id of its topmost controller; `None` for pods without a usable controller.
    pub workload: Option<Arc<str>>,
}

impl PodInfo {
    /// A pod of `containers` (by name) in `namespace`, for tests of what uses snapshots.
    #[cfg(test)]
    pub(crate) fn for_test(
        namespace: &str,
        name: &str,
        labels: super::pod::Labels,
        workload: Option<&str>,
        containers: &[&str],
    ) -> Self {
        let containers = containers.iter().map(|c| super::pod::CachedContainer {
            name: (*c).into(),
            ..Default::default()
        });
        Self {
            pod: Arc::new(CachedPod {
                namespace: namespace.into(),
                name: name.into(),
                labels,
                containers: containers.collect(),
                ..CachedPod::default()
            }),
            workload: workload.map(Into::into),
        }
    }
}

impl std::ops::Deref for PodInfo {
    type Target = CachedPod;

    fn deref(&self) -> &CachedPod {
        &self.pod
    }
}

/// Pods by namespace and name, looked up without building owned keys.
#[derive(Clone, Debug, Default)]
pub struct PodIndex(HashMap<Arc<str>, HashMap<Arc<str>, PodInfo>>);

impl PodIndex {
    /// Adds (or replaces) a pod.
    pub fn insert(&mut self, pod: PodInfo) {
        self.0
            .entry(pod.namespace.clone())
            .or_default()
            .insert(pod.name.clone(), pod);
    }

    /// The pod `namespace`/`name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&PodInfo> {
        self.0.get(namespace)?.get(name)
    }

    /// Whether the pod `namespace`/`name` exists.
    pub fn contains(&self, namespace: &str, name: &str) -> bool {
        self.get(namespace, name).is_some()
    }

    /// Every pod, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &PodInfo> {
        self.0.values().flat_map(HashMap::values)
    }

    /// How many pods there are.
    pub fn len(&self) -> usize {
        self.0.values().map(HashMap::len).sum()
    }

    /// Whether there is no pod.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<PodInfo> for PodIndex {
    fn from_iter<I: IntoIterator<Item = PodInfo>>(pods: I) -> Self {
        let mut index = Self::default();
        for pod in pods {
            index.insert(pod);
        }
        index
    }
}

/// One loop's input.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// When the snapshot was taken.
    pub now: Timestamp,
    /// VPAs this recommender handles, sorted by namespace and name.
    pub vpas: Vec<VpaInfo>,
    /// Pods by namespace and name.
    pub pods: PodIndex,
}

/// Resolves a VPA's target: the controller must exist and have a selector, and must itself be
/// a topmost controller (a VPA pointing at a Deployment's ReplicaSet is unsupported, as upstream).
pub fn resolve_target(
    vpa: &VerticalPodAutoscaler,
    controllers: &Controllers,
) -> Result<VpaTarget, String> {
    let namespace = vpa.metadata.namespace.as_deref().unwrap_or_default();
    let key = target_key(vpa);
    if key.kind.is_empty() || key.name.is_empty() {
        return Err("targetRef needs a kind and a name".into());
    }
    let missing = || {
        format!(
            "Cannot read targetRef: {} {namespace}/{} not found",
            key.kind, key.name
        )
    };
    let selector = match controllers.get(namespace, &key.kind, &key.name) {
        Some(info) => {
            if let Some(parent) = vpa_common::matching::controller_ref(info.owner_references())
                && (ControllerKey::from_owner(parent).is_well_known()
                    || controllers.is_scalable(&ControllerKey::from_owner(parent)))
            {
                return Err(format!(
                    "The targetRef controller has a parent ({} {}) but it should point to a \
                     topmost well-known or scalable controller",
                    parent.kind, parent.name
                ));
            }
            info.selector.clone().ok_or_else(|| {
                format!(
                    "Cannot read targetRef: {} {namespace}/{} has no selector",
                    key.kind, key.name
                )
            })?
        }
        None if key.is_well_known() => return Err(missing()),
        None => match controllers.scale().answer(namespace, &key.kind, &key.name) {
            Some(Ok(selector)) => selector.clone(),
            Some(Err(why)) => return Err(format!("Cannot read targetRef: {why}")),
            None => return Err(missing()),
        },
    };
    Ok(VpaTarget {
        workload: workload_id(&key.kind, &key.name),
        selector,
    })
}

/// Workload ids of controllers already walked in one snapshot: pods of one ReplicaSet share
/// the walk and the id string.
type WorkloadMemo = HashMap<(Arc<str>, ControllerKey), Option<Arc<str>>>;

/// The model's view of a pod: its workload via its topmost controller (pods whose chain is
/// broken or that have no controller get `None`).
pub fn pod_info(pod: &Arc<CachedPod>, controllers: &Controllers) -> PodInfo {
    pod_info_memo(pod, controllers, &mut WorkloadMemo::new())
}

fn pod_info_memo(
    pod: &Arc<CachedPod>,
    controllers: &Controllers,
    memo: &mut WorkloadMemo,
) -> PodInfo {
    let workload = pod.controller.as_ref().and_then(|first| {
        memo.entry((pod.namespace.clone(), first.clone()))
            .or_insert_with(|| {
                topmost_controller_from(&pod.namespace, first.clone(), controllers)
                    .ok()
                    .flatten()
                    .map(|c| workload_id(&c.kind, &c.name).into())
            })
            .clone()
    });
    PodInfo {
        pod: pod.clone(),
        workload,
    }
}

/// Builds a snapshot at `now` from cache contents: VPAs this recommender handles in allowed
/// namespaces, and every pod.
pub fn build(
    now: Timestamp,
    vpas: &[Arc<CachedVpa>],
    pods: &[Arc<CachedPod>],
    controllers: &Controllers,
    recommender_name: &str,
    namespaces: &NamespaceFilter,
) -> Snapshot {
    let mut handled: Vec<VpaInfo> = vpas
        .iter()
        .filter(|v| namespaces.allows(v.vpa.metadata.namespace.as_deref().unwrap_or_default()))
        .filter(|v| handles(&v.vpa, recommender_name))
        .map(|v| VpaInfo {
            target: resolve_target(&v.vpa, controllers),
            vpa: v.vpa.clone(),
            status: v.status.clone(),
        })
        .collect();
    handled.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
    let mut memo = WorkloadMemo::new();
    let pods = pods
        .iter()
        .map(|p| pod_info_memo(p, controllers, &mut memo))
        .collect();
    Snapshot {
        now,
        vpas: handled,
        pods,
    }
}

#[cfg(test)]
mod tests;
