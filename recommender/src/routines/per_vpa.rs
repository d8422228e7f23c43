//! Per-VPA aggregation settings (pure), upstream's `PerVPAConfig` (alpha): a container policy's
//! `oomBumpUpRatio`, `oomMinBumpUp`, `memoryAggregationIntervalSeconds` and
//! `memoryAggregationIntervalCount` replace `--oom-bump-up-ratio`, `--oom-min-bump-up-bytes`,
//! `--memory-aggregation-interval` and `--memory-aggregation-interval-count` for the aggregates of
//! the containers that policy applies to (its container, or every container without its own
//! policy for `*`), in the workload the VPA targets.
//!
//! With the gate on they become the model's overrides ([`overrides`]); with it off they are
//! ignored, as upstream, and [`ignored_fields`] names them so the loop can say so. A value the
//! admission controller would refuse (a ratio below 1, a negative bump, an interval or count
//! below 1, an unparsable quantity) is ignored too, keeping the flag's value: the model must not
//! divide by a zero interval because a VPA got past validation.

use vpa_common::api::{ContainerResourcePolicy, DEFAULT_CONTAINER_POLICY, VerticalPodAutoscaler};
use vpa_common::quantity::Quantity;

use crate::input::snapshot::Snapshot;
use crate::model::{AggregationOverrides, ContainerOverrides, WorkloadOverrides};

fn quantity(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Option<f64> {
    q?.0.parse::<Quantity>().ok().map(|q| q.as_f64())
}

/// The settings one container policy overrides (usable values only).
pub fn policy_overrides(policy: &ContainerResourcePolicy) -> AggregationOverrides {
    AggregationOverrides {
        oom_bump_up_ratio: quantity(policy.oom_bump_up_ratio.as_ref()).filter(|r| *r >= 1.0),
        oom_min_bump_up_bytes: quantity(policy.oom_min_bump_up.as_ref()).filter(|b| *b >= 0.0),
        memory_aggregation_interval: policy
            .memory_aggregation_interval_seconds
            .filter(|s| *s >= 1)
            .map(i64::from),
        memory_aggregation_interval_count: policy
            .memory_aggregation_interval_count
            .filter(|c| *c >= 1),
    }
}

fn policies(vpa: &VerticalPodAutoscaler) -> &[ContainerResourcePolicy] {
    vpa.spec
        .resource_policy
        .as_ref()
        .and_then(|p| p.container_policies.as_deref())
        .unwrap_or_default()
}

/// The overrides of `vpa`'s containers, or `None` when no policy sets one. A container's own
/// policy shadows the `*` one even when it sets none of the fields, as for every policy field.
pub fn vpa_overrides(vpa: &VerticalPodAutoscaler) -> Option<ContainerOverrides> {
    let mut out = ContainerOverrides::default();
    let mut any = false;
    for policy in policies(vpa) {
        let overrides = policy_overrides(policy);
        any |= !overrides.is_empty();
        match policy.container_name.as_deref() {
            Some(DEFAULT_CONTAINER_POLICY) if !overrides.is_empty() => {
                out.wildcard.get_or_insert(overrides);
            }
            Some(DEFAULT_CONTAINER_POLICY) => {}
            Some(name) if !name.is_empty() => {
                out.named.entry(name.to_owned()).or_insert(overrides);
            }
            _ => {}
        }
    }
    any.then_some(out)
}

/// The model's overrides for the snapshot's VPAs whose target resolved (gate on).
pub fn overrides(snapshot: &Snapshot) -> WorkloadOverrides {
    let mut out = WorkloadOverrides::default();
    for vpa in &snapshot.vpas {
        let Ok(target) = &vpa.target else { continue };
        if let Some(containers) = vpa_overrides(&vpa.vpa) {
            out.insert(vpa.namespace(), &target.workload, containers);
        }
    }
    out
}

/// The `PerVPAConfig` fields `vpa` sets, by API name, in policy order without repeats (what a gate
/// that is off makes the recommender ignore).
pub fn ignored_fields(vpa: &VerticalPodAutoscaler) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for p in policies(vpa) {
        for name in vpa_common::policy::per_vpa_config_fields(p) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
