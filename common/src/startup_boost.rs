//! CPU startup boost (pure; alpha, feature gate `CPUStartupBoost`), as upstream 1.7.1 applies it.
//!
//! At pod creation the admission controller raises a container's CPU request, so a slow start
//! (a JVM warming up, say) gets more CPU, and records the container's original resources in the
//! pod annotation `vpaCpuStartupBoost/<container>`. Once the pod has been Ready for the boost's
//! `durationSeconds`, the updater resizes the container in place back to the recommendation (or
//! to the recorded original values) and removes the annotation.
//!
//! The boosted request, in millicores, starts from the capped recommendation, or from the
//! container's own request when there is none (or the VPA is `Off`): `Factor` multiplies it,
//! `Quantity` adds to it, and `--max-allowed-cpu-boost` caps the result. Under
//! `RequestsAndLimits` the CPU limit follows in the container's limit:request proportion; under
//! `RequestsOnly` the limit stays and the request is kept 1m below it, so the QoS class does not
//! change.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::{
    ContainerControlledValues, GenericStartupBoost, ResourceList, StartupBoostType,
    VerticalPodAutoscaler,
};
use crate::capping::PodContainer;
use crate::limits::proportional_limit;
use crate::pod_resources::ContainerResources;
use crate::policy;
use crate::quantity::{Quantity, QuantityError};
use crate::resources::{CPU, MEMORY};

/// Prefix of the pod annotation holding a boosted container's original resources; the
/// container's name follows it.
pub const ANNOTATION_PREFIX: &str = "vpaCpuStartupBoost/";

/// The annotation key for `container`: `vpaCpuStartupBoost/<container>`.
pub fn annotation_key(container: &str) -> String {
    format!("{ANNOTATION_PREFIX}{container}")
}

/// The containers of `pod` whose boost annotation is present (boosted and not yet scaled back).
pub fn boosted_containers(pod: &Pod) -> impl Iterator<Item = &str> {
    pod.metadata
        .annotations
        .iter()
        .flatten()
        .filter_map(|(key, _)| key.strip_prefix(ANNOTATION_PREFIX))
}

/// Whether any container of `pod` is boosted (upstream `PodHasCPUBoostInProgressAnnotation`).
pub fn is_boosted(pod: &Pod) -> bool {
    boosted_containers(pod).next().is_some()
}

/// How the admission controller boosts: the feature gate and `--max-allowed-cpu-boost`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoostConfig {
    /// Feature gate `CPUStartupBoost`; nothing is boosted without it.
    pub enabled: bool,
    /// `--max-allowed-cpu-boost` in millicores; `None` (the default, or a value ≤ 0) is no cap.
    pub max_allowed_millis: Option<i64>,
}

/// Why a boost cannot be computed. The admission controller then admits the pod unpatched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoostError {
    /// `type: Factor` without `factor`.
    #[error("startupBoost.CPU.Factor is required when Type is Factor or not specified")]
    MissingFactor,
    /// `factor` below 1.
    #[error("boost factor must be >= 1")]
    FactorBelowOne,
    /// `type: Quantity` without `quantity`.
    #[error("startupBoost.CPU.Quantity is required when Type is Quantity")]
    MissingQuantity,
    /// `quantity` is not a quantity.
    #[error(transparent)]
    Quantity(#[from] QuantityError),
}

impl BoostError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::MissingFactor => "boost_missing_factor",
            Self::FactorBelowOne => "boost_factor_below_one",
            Self::MissingQuantity => "boost_missing_quantity",
            Self::Quantity(_) => "boost_bad_quantity",
        }
    }
}

/// The boost for `container`: its container policy's `startupBoost` when it has one (even one
/// without `cpu`, which then boosts nothing), else the VPA's pod-level `startupBoost`.
pub fn container_boost<'a>(
    vpa: &'a VerticalPodAutoscaler,
    container: &str,
) -> Option<&'a GenericStartupBoost> {
    let policy = policy::container_policy(container, vpa.spec.resource_policy.as_ref());
    match policy.and_then(|p| p.startup_boost.as_ref()) {
        Some(own) => own.cpu.as_ref(),
        None => vpa.spec.startup_boost.as_ref()?.cpu.as_ref(),
    }
}

/// Seconds `container` stays boosted after the pod becomes Ready: its container policy's
/// `durationSeconds` when set, else the pod-level one, else 0. Unlike [`container_boost`], a
/// container policy boost without `durationSeconds` keeps the pod-level duration, as upstream.
pub fn boost_duration_seconds(vpa: &VerticalPodAutoscaler, container: &str) -> i64 {
    let seconds = |b: Option<&crate::api::StartupBoost>| b?.cpu.as_ref()?.duration_seconds;
    let policy = policy::container_policy(container, vpa.spec.resource_policy.as_ref());
    policy
        .and_then(|p| seconds(p.startup_boost.as_ref()))
        .or_else(|| seconds(vpa.spec.startup_boost.as_ref()))
        .map_or(0, i64::from)
}

/// The boosted CPU request, millicores: `base × factor` or `base + quantity` (the quantity's
/// millicores rounded up), capped to `max_allowed` when that is positive.
pub fn boosted_cpu_millis(
    base: i64,
    boost: &GenericStartupBoost,
    max_allowed: Option<i64>,
) -> Result<i64, BoostError> {
    let boosted = match boost.boost_type {
        StartupBoostType::Factor => {
            let factor = boost.factor.ok_or(BoostError::MissingFactor)?;
            if factor < 1 {
                return Err(BoostError::FactorBelowOne);
            }
            base.saturating_mul(i64::from(factor))
        }
        StartupBoostType::Quantity => {
            let quantity = boost.quantity.as_ref().ok_or(BoostError::MissingQuantity)?;
            let quantity: Quantity = quantity.0.parse()?;
            base.saturating_add(quantity.millis_ceil())
        }
    };
    Ok(match max_allowed {
        Some(max) if max > 0 && boosted > max => max,
        _ => boosted,
    })
}

/// Boosts the CPU of `new`, the resources the admission controller is about to write for
/// `container` (empty when the container has no recommendation or the VPA is `Off`): sets the
/// boosted request and, per `values`, the proportional limit or a request kept below the limit.
/// Other resources and the notes are left as they are.
pub fn apply_boost(
    new: &mut ContainerResources,
    container: &PodContainer,
    values: ContainerControlledValues,
    boost: &GenericStartupBoost,
    max_allowed: Option<i64>,
) -> Result<(), BoostError> {
    let recommended = new.requests.get(CPU).copied().unwrap_or(0);
    let original = container.requests.get(CPU).copied();
    let base = if recommended != 0 {
        recommended
    } else {
        original.unwrap_or(0)
    };
    let boosted = boosted_cpu_millis(base, boost, max_allowed)?;
    match values {
        ContainerControlledValues::RequestsOnly => {
            let request = match container.limits.get(CPU).copied() {
                // Above the limit the pod would be invalid: stay 1m below it when possible, so
                // a Burstable pod does not become Guaranteed.
                Some(limit) if boosted > limit && limit > 1 => limit - 1,
                Some(limit) if boosted > limit => limit,
                _ => boosted,
            };
            new.requests.insert(CPU.to_string(), request);
        }
        ContainerControlledValues::RequestsAndLimits => {
            new.requests.insert(CPU.to_string(), boosted);
            let (limit, _) = proportional_limit(
                CPU,
                container.limits.get(CPU).copied(),
                original,
                Some(boosted),
                None,
            );
            if let Some(limit) = limit {
                new.limits.insert(CPU.to_string(), limit);
            }
        }
    }
    Ok(())
}

/// A container's resources before the boost, as the annotation stores them: CPU and memory
/// requests and limits, each map always present (`{}` when empty), quantities in canonical form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OriginalResources {
    /// Requests before the boost.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub requests: ResourceList,
    /// Limits before the boost.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub limits: ResourceList,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<ResourceList, D::Error> {
    Ok(Option::<ResourceList>::deserialize(d)?.unwrap_or_default())
}

/// CPU and memory of `list`, each quantity in canonical form (`0.1` → `100m`, as Go prints a
/// parsed quantity); a quantity that does not parse is kept as written.
fn cpu_and_memory(list: Option<&ResourceList>) -> ResourceList {
    let mut out = BTreeMap::new();
    for resource in [CPU, MEMORY] {
        if let Some(q) = list.and_then(|l| l.get(resource)) {
            let canonical =
                q.0.parse::<Quantity>()
                    .map_or_else(|_| q.clone(), Into::into);
            out.insert(resource.to_string(), canonical);
        }
    }
    out
}

impl OriginalResources {
    /// The resources of `container` as written in the pod spec.
    pub fn of(container: &Container) -> Self {
        let resources = container.resources.as_ref();
        Self {
            requests: cpu_and_memory(resources.and_then(|r| r.requests.as_ref())),
            limits: cpu_and_memory(resources.and_then(|r| r.limits.as_ref())),
        }
    }

    /// The annotation value: `{"requests":{...},"limits":{...}}`.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("a map of strings always serialises")
    }

    /// The original resources of `container` recorded on `pod`: `None` without its annotation,
    /// an error when the annotation is not the JSON above.
    pub fn recorded(pod: &Pod, container: &str) -> Result<Option<Self>, serde_json::Error> {
        let Some(value) = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(&annotation_key(container)))
        else {
            return Ok(None);
        };
        serde_json::from_str(value).map(Some)
    }
}

#[cfg(test)]
mod tests;
