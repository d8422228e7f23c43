//! JSON patches for a pod at creation (pure).
//!
//! Given the pod, its VPA and the namespace's LimitRanges, computes the RFC 6902 operations the
//! admission controller returns, in upstream's order: an empty annotations map when the pod has
//! none, then per container the resource patches (`resources {}`, `requests {}` / `limits {}`
//! when missing and something is to be written, then one `add` per value), then the
//! `vpaUpdates` and `vpaObservedContainers` annotations. With the `NativeSidecar` gate (see
//! [`PatchOptions`]), native sidecars (init containers with `restartPolicy: Always`) are patched
//! like containers when the VPA recommends for them and are listed as observed after the
//! containers, so the updater weighs them too; plain init containers never are. Without it, init
//! containers of every kind are left alone, as upstream 1.7.1.
//!
//! With the CPU startup boost (feature gate `CPUStartupBoost`), a regular container whose policy
//! or VPA has a boost, and whose mode is not `Off`, gets the boosted CPU (see
//! [`vpa_common::startup_boost`]), and its original resources are recorded in the
//! `vpaCpuStartupBoost/<container>` annotation, added just before its resource patches. A VPA in
//! mode `Off` reaches this only when it has a boost: then no recommendation is applied, only the
//! boost. With the gate on, containers in mode `Off` are left out entirely, as upstream.

use std::fmt::Write;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, PatchOperation};
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::Value;
use vpa_common::api::{UpdateMode, VerticalPodAutoscaler};
use vpa_common::capping::{ContainerRecommendation, PodContainer};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::pod_resources::{
    ContainerResources, parsed_recommendation, resources_for_pod_parsed,
};
use vpa_common::policy;
use vpa_common::quantity::QuantityError;
use vpa_common::resources::{self, Amounts};
use vpa_common::startup_boost::{self, BoostConfig, BoostError, OriginalResources};

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

/// Why no patch can be computed for a pod; the webhook then admits it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The VPA's recommendation holds an unparsable quantity.
    #[error("bad recommendation: {0}")]
    Recommendation(#[from] QuantityError),
    /// The VPA's startup boost cannot be applied.
    #[error("bad startup boost: {0}")]
    Boost(#[from] BoostError),
}

impl PatchError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Recommendation(_) => "bad_recommendation",
            Self::Boost(e) => e.metric_label(),
        }
    }
}

/// What beyond upstream's defaults a patch covers (alpha feature gates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchOptions {
    /// Patch native sidecars and list them as observed (gate `NativeSidecar`, upstream AEP-8905).
    pub native_sidecars: bool,
    /// The CPU startup boost (gate `CPUStartupBoost`, `--max-allowed-cpu-boost`).
    pub boost: BoostConfig,
}

/// Patches for `pod` from `vpa` (already known to control the pod), covering what `options`
/// enable. Fails when the VPA's recommendation holds an unparsable quantity or its boost is
/// invalid.
pub fn pod_patch(
    pod: &Pod,
    vpa: &VerticalPodAutoscaler,
    limits: &NamespaceLimits,
    options: PatchOptions,
) -> Result<PodPatch, PatchError> {
    let recs = parsed_recommendation(vpa)?;
    Ok(pod_patch_parsed(
        pod,
        vpa,
        recs.as_deref(),
        limits,
        options,
    )?)
}

/// [`pod_patch`] with the VPA's recommendation already parsed (see
/// [`vpa_common::pod_resources::parsed_recommendation`]; `None` when it has none), as the
/// webhook keeps it per VPA version. Fails only when the boost is invalid.
pub fn pod_patch_parsed(
    pod: &Pod,
    vpa: &VerticalPodAutoscaler,
    recs: Option<&[ContainerRecommendation]>,
    limits: &NamespaceLimits,
    options: PatchOptions,
) -> Result<PodPatch, BoostError> {
    let boost = options.boost;
    let spec = pod.spec.as_ref();
    let sidecars = || {
        spec.and_then(|s| s.init_containers.as_deref())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(move |(_, c)| options.native_sidecars && is_native_sidecar(c))
    };
    let mut targets: Vec<Target<'_>> = Vec::new();
    if let Some(spec) = spec {
        for (index, container) in sidecars() {
            targets.push(Target {
                list: "initContainers",
                index,
                container,
            });
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
    let mut new = resources_for_pod_parsed(vpa, recs, &views, limits);
    if policy::update_mode(vpa) == UpdateMode::Off {
        // Matched only for its startup boost: the recommendation itself is not applied.
        new.fill(None);
    }

    let mut out = PodPatch::default();
    if pod.metadata.annotations.is_none() {
        out.operations.push(add(
            &["metadata", "annotations"],
            Value::Object(Default::default()),
        ));
    }
    let mut updates = Vec::new();
    for ((target, view), mut new) in targets.iter().zip(&views).zip(new) {
        if boost.enabled && target.list == "containers" {
            let pod_policy = vpa.spec.resource_policy.as_ref();
            if policy::is_container_off(&view.name, pod_policy) {
                continue;
            }
            if let Some(cpu) = startup_boost::container_boost(vpa, &view.name) {
                let values = policy::controlled_values(&view.name, pod_policy);
                let resources = new.get_or_insert_with(ContainerResources::default);
                startup_boost::apply_boost(resources, view, values, cpu, boost.max_allowed_millis)?;
                out.operations.push(add(
                    &[
                        "metadata",
                        "annotations",
                        &startup_boost::annotation_key(&view.name),
                    ],
                    Value::String(OriginalResources::of(target.container).to_annotation()),
                ));
            }
        }
        let Some(new) = new else { continue };
        let (ops, summary) = container_patch(target, view, &new);
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
        .map(|s| {
            s.containers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(sidecars().map(|(_, c)| c.name.as_str()))
        .collect();
    out.operations.push(add(
        &["metadata", "annotations", OBSERVED_CONTAINERS_ANNOTATION],
        Value::String(observed.join(", ")),
    ));
    Ok(out)
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
