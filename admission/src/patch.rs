//! JSON patches for a pod at creation (pure).
//!
//! Given the pod, its VPA and the namespace's LimitRanges, computes the RFC 6902 operations the
//! admission controller returns, in upstream's order: an empty annotations map when the pod has
//! none, then per container the resource patches (`resources {}`, `requests {}` / `limits {}`
//! when missing and something is to be written, then one `add` per value), then the
//! `vpaUpdates` and `vpaObservedContainers` annotations. Native sidecars (init containers with
//! `restartPolicy: Always`) are patched like containers when the VPA recommends for them; plain
//! init containers never are.

use std::fmt::Write;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation};
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::Value;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::capping::{ContainerRecommendation, PodContainer};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::pod_resources::{
    ContainerResources, parsed_recommendation, resources_for_pod_parsed,
};
use vpa_common::quantity::QuantityError;
use vpa_common::resources::{self, Amounts};

/// Annotation listing what the admission controller changed.
pub const VPA_UPDATES_ANNOTATION: &str = "vpaUpdates";
/// Annotation listing the containers present at admission, read by the updater.
pub const OBSERVED_CONTAINERS_ANNOTATION: &str = "vpaObservedContainers";

/// The operations for one pod, and whether any resource was changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodPatch {
    /// RFC 6902 operations, in order.
    pub operations: Vec<PatchOperation>,
    /// Whether at least one container's resources are patched.
    pub resources_changed: bool,
}

/// An `add` at the path made of `tokens` (RFC 6901 escaping applied), the path built in one
/// allocation (this runs a dozen times per pod).
fn add(tokens: &[&str], value: Value) -> PatchOperation {
    let mut path = String::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
    for token in tokens {
        path.push('/');
        if !token.contains(['~', '/']) {
            path.push_str(token);
            continue;
        }
        for (i, part) in token.split('~').enumerate() {
            if i > 0 {
                path.push_str("~0");
            }
            for (j, piece) in part.split('/').enumerate() {
                if j > 0 {
                    path.push_str("~1");
                }
                path.push_str(piece);
            }
        }
    }
    PatchOperation::Add(AddOperation {
        path: PointerBuf::parse(path).expect("escaped tokens form a JSON pointer"),
        value,
    })
}

fn is_native_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// A container the patch may touch: its list (`containers` or `initContainers`) and index.
struct Target<'a> {
    list: &'static str,
    index: usize,
    container: &'a Container,
}

/// Patches for `pod` from `vpa` (already known to control the pod). Fails only when the VPA's
/// recommendation holds an unparsable quantity.
pub fn pod_patch(
    pod: &Pod,
    vpa: &VerticalPodAutoscaler,
    limits: &NamespaceLimits,
) -> Result<PodPatch, QuantityError> {
    let recs = parsed_recommendation(vpa)?;
    Ok(pod_patch_parsed(pod, vpa, recs.as_deref(), limits))
}

/// [`pod_patch`] with the VPA's recommendation already parsed (see
/// [`vpa_common::pod_resources::parsed_recommendation`]; `None` when it has none), as the
/// webhook keeps it per VPA version.
pub fn pod_patch_parsed(
    pod: &Pod,
    vpa: &VerticalPodAutoscaler,
    recs: Option<&[ContainerRecommendation]>,
    limits: &NamespaceLimits,
) -> PodPatch {
    let spec = pod.spec.as_ref();
    let mut targets: Vec<Target<'_>> = Vec::new();
    if let Some(spec) = spec {
        for (index, container) in spec.init_containers.iter().flatten().enumerate() {
            if is_native_sidecar(container) {
                targets.push(Target {
                    list: "initContainers",
                    index,
                    container,
                });
            }
        }
        for (index, container) in spec.containers.iter().enumerate() {
            targets.push(Target {
                list: "containers",
                index,
                container,
            });
        }
    }
    let views: Vec<PodContainer> = targets
        .iter()
        .map(|t| PodContainer::from_container(t.container))
        .collect();
    let new = resources_for_pod_parsed(vpa, recs, &views, limits);

    let mut out = PodPatch::default();
    if pod.metadata.annotations.is_none() {
        out.operations.push(add(
            &["metadata", "annotations"],
            Value::Object(Default::default()),
        ));
    }
    let mut updates = Vec::new();
    for ((target, view), new) in targets.iter().zip(&views).zip(&new) {
        let Some(new) = new else { continue };
        let (ops, summary) = container_patch(target, view, new);
        if !ops.is_empty() {
            out.operations.extend(ops);
            updates.push(summary);
        }
    }
    if !updates.is_empty() {
        out.resources_changed = true;
        let name = vpa.metadata.name.as_deref().unwrap_or_default();
        let text = format!("Pod resources updated by {name}: {}", updates.join("; "));
        out.operations.push(add(
            &["metadata", "annotations", VPA_UPDATES_ANNOTATION],
            Value::String(text),
        ));
    }
    let observed: Vec<&str> = spec
        .map(|s| s.containers.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    out.operations.push(add(
        &["metadata", "annotations", OBSERVED_CONTAINERS_ANNOTATION],
        Value::String(observed.join(", ")),
    ));
    out
}

/// A container's `vpaUpdates` entry, `"<label> <index>: <note>, <note>"`, written into one
/// string as the notes come.
struct Summary {
    text: String,
    notes: usize,
}

impl Summary {
    fn new(label: &str, index: usize) -> Self {
        let mut text = String::with_capacity(96);
        let _ = write!(text, "{label} {index}: ");
        Self { text, notes: 0 }
    }

    /// Appends one note made of `parts`.
    fn note(&mut self, parts: &[&str]) {
        if self.notes > 0 {
            self.text.push_str(", ");
        }
        self.notes += 1;
        parts.iter().for_each(|p| self.text.push_str(p));
    }
}

/// Operations for one container and its `vpaUpdates` entry.
fn container_patch(
    target: &Target<'_>,
    view: &PodContainer,
    new: &ContainerResources,
) -> (Vec<PatchOperation>, String) {
    let index = target.index.to_string();
    let base = [target.list, index.as_str(), "resources"];
    let mut ops = Vec::new();
    let label = if target.list == "containers" {
        "container"
    } else {
        "initContainer"
    };
    let mut summary = Summary::new(label, target.index);
    new.notes.iter().for_each(|n| summary.note(&[n]));
    let writes_something = !new.requests.is_empty() || !new.limits.is_empty();
    if writes_something && !view.has_requests && !view.has_limits {
        ops.push(add(
            &["spec", base[0], base[1], base[2]],
            Value::Object(Default::default()),
        ));
    }
    for (field, word, values, present) in [
        ("requests", " request", &new.requests, view.has_requests),
        ("limits", " limit", &new.limits, view.has_limits),
    ] {
        append_values(&mut ops, &mut summary, &base, field, word, values, present);
    }
    (ops, summary.text)
}

fn append_values(
    ops: &mut Vec<PatchOperation>,
    summary: &mut Summary,
    base: &[&str; 3],
    field: &str,
    word: &str,
    values: &Amounts,
    present: bool,
) {
    if values.is_empty() {
        return;
    }
    if !present {
        ops.push(add(
            &["spec", base[0], base[1], base[2], field],
            Value::Object(Default::default()),
        ));
    }
    for (resource, amount) in values {
        let quantity = resources::quantity(resource, *amount);
        ops.push(add(
            &["spec", base[0], base[1], base[2], field, resource],
            Value::String(quantity.0),
        ));
        summary.note(&[resource, word]);
    }
}

#[cfg(test)]
mod tests;
