//! Read-only views of a pod that the updater's decisions need (pure): identity, controller,
//! current requests, the `vpaObservedContainers` annotation and the in-place resize status.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use vpa_common::api::ResourceList;

/// Annotation written by the admission controller: the containers it saw when the pod was
/// created, joined by `", "`.
pub const OBSERVED_CONTAINERS_ANNOTATION: &str = "vpaObservedContainers";
/// Annotation the updater sets after a successful in-place resize.
pub const IN_PLACE_UPDATED_ANNOTATION: &str = "vpaInPlaceUpdated";
/// Pod condition set by the kubelet while a resize waits (reason `Deferred` or `Infeasible`).
pub const RESIZE_PENDING_CONDITION: &str = "PodResizePending";
/// Pod condition set by the kubelet while a resize is being actuated.
pub const RESIZE_IN_PROGRESS_CONDITION: &str = "PodResizeInProgress";

/// `namespace/name` of a pod: stable key for maps kept across loops.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
}

impl PodKey {
    /// The key of `pod` (empty strings for missing metadata).
    pub fn of(pod: &Pod) -> Self {
        Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The ownerReference with `controller: true`, if any.
pub fn controller_ref(pod: &Pod) -> Option<&OwnerReference> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether the pod's phase is `Pending`.
pub fn is_pending(pod: &Pod) -> bool {
    phase(pod) == Some("Pending")
}

/// The pod's phase, if reported.
pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

/// Regular containers followed by init containers (sidecars), as upstream considers both.
pub fn all_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    let spec = pod.spec.as_ref();
    let regular = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let init = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    regular.iter().chain(init.iter())
}

/// Current requests of container `name`: the kubelet-reported `status.containerStatuses[].resources`
/// when present (it reflects in-place resizes), else the spec.
pub fn container_requests<'a>(pod: &'a Pod, container: &'a Container) -> Option<&'a ResourceList> {
    let from_status = pod.status.as_ref().and_then(|s| {
        s.container_statuses
            .iter()
            .chain(s.init_container_statuses.iter())
            .flatten()
            .find(|cs| cs.name == container.name)
            .and_then(|cs| cs.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
    });
    from_status.or_else(|| container.resources.as_ref()?.requests.as_ref())
}

/// Containers listed in the `vpaObservedContainers` annotation. `None` when the annotation is
/// absent or unparsable, meaning "consider every container" as upstream.
pub fn observed_containers(pod: &Pod) -> Option<BTreeSet<String>> {
    let value = pod
        .metadata
        .annotations
        .as_ref()?
        .get(OBSERVED_CONTAINERS_ANNOTATION)?;
    if value.trim().is_empty() {
        return Some(BTreeSet::new());
    }
    value
        .split(',')
        .map(str::trim)
        .map(|name| is_dns_label(name).then(|| name.to_string()))
        .collect()
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// State of an in-place resize as reported by the kubelet through pod conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeStatus {
    /// No resize pending or in progress.
    None,
    /// `PodResizePending` with reason `Deferred`: the node may fit it later.
    Deferred,
    /// `PodResizePending` with reason `Infeasible`: the node can never fit it.
    Infeasible,
    /// `PodResizeInProgress` without reason: the kubelet is actuating it.
    InProgress,
    /// `PodResizeInProgress` with reason `Error`.
    Error,
    /// A resize condition with a reason the updater does not know.
    Unknown,
}

impl ResizeStatus {
    /// Whether a resize is pending or in progress.
    pub fn is_resizing(self) -> bool {
        self != Self::None
    }
}

/// The resize status of `pod` from its `PodResizePending`/`PodResizeInProgress` conditions
/// (only conditions with status `True` count).
pub fn resize_status(pod: &Pod) -> ResizeStatus {
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let find = |t: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == t && c.status == "True")
    };
    if let Some(c) = find(RESIZE_PENDING_CONDITION) {
        return match c.reason.as_deref() {
            Some("Deferred") => ResizeStatus::Deferred,
            Some("Infeasible") => ResizeStatus::Infeasible,
            _ => ResizeStatus::Unknown,
        };
    }
    if let Some(c) = find(RESIZE_IN_PROGRESS_CONDITION) {
        let reason = c.reason.as_deref().unwrap_or_default();
        let message = c.message.as_deref().unwrap_or_default();
        return match (reason, message) {
            ("", "") => ResizeStatus::InProgress,
            ("Error", _) => ResizeStatus::Error,
            _ => ResizeStatus::Unknown,
        };
    }
    ResizeStatus::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn with_annotation(value: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                annotations: Some([(OBSERVED_CONTAINERS_ANNOTATION.into(), value.into())].into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn with_condition(type_: &str, reason: Option<&str>) -> Pod {
        Pod {
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: type_.into(),
                    status: "True".into(),
                    reason: reason.map(Into::into),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn observed_containers_are_parsed_and_bad_values_mean_all() {
        let set = observed_containers(&with_annotation("app, sidecar")).unwrap();
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["app", "sidecar"]);
        assert_eq!(
            observed_containers(&with_annotation("")),
            Some(BTreeSet::new())
        );
        assert_eq!(observed_containers(&with_annotation("App!")), None);
        assert_eq!(observed_containers(&Pod::default()), None);
    }

    #[test]
    fn resize_status_follows_conditions() {
        let cases = [
            (
                RESIZE_PENDING_CONDITION,
                Some("Deferred"),
                ResizeStatus::Deferred,
            ),
            (
                RESIZE_PENDING_CONDITION,
                Some("Infeasible"),
                ResizeStatus::Infeasible,
            ),
            (
                RESIZE_PENDING_CONDITION,
                Some("Other"),
                ResizeStatus::Unknown,
            ),
            (RESIZE_IN_PROGRESS_CONDITION, None, ResizeStatus::InProgress),
            (
                RESIZE_IN_PROGRESS_CONDITION,
                Some("Error"),
                ResizeStatus::Error,
            ),
            ("Ready", None, ResizeStatus::None),
        ];
        for (type_, reason, expected) in cases {
            assert_eq!(
                resize_status(&with_condition(type_, reason)),
                expected,
                "{type_} {reason:?}"
            );
        }
    }
}
