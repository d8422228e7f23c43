//! Recommendation quality (pure), what upstream's `vpa_quality_*` metrics measure: each usage
//! sample the model takes from a container a VPA recommends for (mode not `Off`) is compared with
//! the recommendation the previous loop wrote for it, and each loop's recommendation with the
//! previous loop's. As upstream, "the recommendation" is the uncapped target (before policy
//! capping), which upstream keeps on the aggregate state as `LastRecommendation`.
//!
//! [`RecommendationMemory`] keeps one loop's targets; [`QualityTargets`] joins them with the
//! snapshot's VPAs for the next loop's feeding, which turns accepted samples into
//! [`QualitySample`]s; [`changes`] compares a new plan with the memory. Samples are in cores and
//! bytes, as the metrics are.

use std::collections::HashMap;
use std::sync::Arc;

use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::metrics::size_log2;
use vpa_common::policy;
use vpa_common::resources::{Amounts, CPU, MEMORY};

use super::plan::VpaPlan;
use crate::input::snapshot::{Snapshot, VpaInfo};
use crate::model::{AggregateKey, Resource, ResourceAmount};

/// An uncapped target: millicores and bytes, `None` when missing or zero.
type Target = (Option<ResourceAmount>, Option<ResourceAmount>);

/// Targets by container name.
type ByContainer = HashMap<Arc<str>, Target>;

/// The uncapped targets one loop wrote, by namespace, workload and container (upstream's
/// `LastRecommendation` of each aggregate).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecommendationMemory(HashMap<Arc<str>, HashMap<Arc<str>, ByContainer>>);

impl RecommendationMemory {
    /// The target remembered for `namespace`/`workload`/`container`.
    pub fn get(&self, namespace: &str, workload: &str, container: &str) -> Option<Target> {
        self.0
            .get(namespace)?
            .get(workload)?
            .get(container)
            .copied()
    }

    fn insert(&mut self, key: &AggregateKey, target: Target) {
        self.0
            .entry(key.namespace.clone())
            .or_default()
            .entry(key.workload.clone())
            .or_default()
            .entry(key.container.clone())
            .or_insert(target);
    }

    /// Remembers `plan`'s uncapped targets, by the aggregates it recommends from.
    pub fn remember(&mut self, plan: &VpaPlan) {
        for rec in &plan.recommendations {
            if let Some(key) = plan
                .aggregates
                .iter()
                .find(|k| *k.container == rec.container_name)
            {
                self.insert(key, cpu_and_memory(&rec.uncapped_target));
            }
        }
    }
}

/// What is known of one container a VPA recommends for, for one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tracked<'a> {
    /// The VPA's `updateMode` as written (empty when unset), upstream's label value.
    pub update_mode: &'a str,
    /// The last uncapped CPU target, millicores; `None` when missing or zero.
    pub cpu_millicores: Option<ResourceAmount>,
    /// The last uncapped memory target, bytes; `None` when missing or zero.
    pub memory_bytes: Option<ResourceAmount>,
}

/// One usage sample next to its recommendation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualitySample<'a> {
    /// The VPA's update mode.
    pub update_mode: &'a str,
    /// The resource sampled.
    pub resource: Resource,
    /// Usage: cores or bytes.
    pub usage: f64,
    /// The recommendation in the same unit; `None` when there is none (or it is zero).
    pub recommendation: Option<f64>,
    /// Whether the sample stands for an OOM kill (its usage is the bumped-up memory).
    pub is_oom: bool,
}

impl<'a> Tracked<'a> {
    /// `usage` (millicores or bytes) of `resource` compared with the recommendation.
    pub fn sample(
        &self,
        resource: Resource,
        usage: ResourceAmount,
        is_oom: bool,
    ) -> QualitySample<'a> {
        let (usage, recommendation) = match resource {
            Resource::Cpu => (
                usage as f64 / 1000.0,
                self.cpu_millicores.map(|m| m as f64 / 1000.0),
            ),
            Resource::Memory => (usage as f64, self.memory_bytes.map(|b| b as f64)),
        };
        QualitySample {
            update_mode: self.update_mode,
            resource,
            usage,
            recommendation,
            is_oom,
        }
    }
}

/// One loop's view for the feeding: the workloads the snapshot's VPAs target (the first VPA of a
/// workload wins) and the last loop's targets. A container of such a workload whose policy is not
/// `Off` is tracked, with or without a recommendation yet.
pub struct QualityTargets<'a> {
    vpas: HashMap<(&'a str, &'a str), &'a VpaInfo>,
    memory: &'a RecommendationMemory,
}

impl<'a> QualityTargets<'a> {
    /// The targets of `snapshot`'s VPAs, with `memory` of the last loop.
    pub fn new(snapshot: &'a Snapshot, memory: &'a RecommendationMemory) -> Self {
        let mut vpas = HashMap::new();
        for vpa in &snapshot.vpas {
            if let Ok(target) = &vpa.target {
                vpas.entry((vpa.namespace(), target.workload.as_str()))
                    .or_insert(vpa);
            }
        }
        Self { vpas, memory }
    }

    /// Nothing tracked (for tests and tools that feed without VPAs).
    pub fn none(memory: &'a RecommendationMemory) -> Self {
        Self {
            vpas: HashMap::new(),
            memory,
        }
    }

    /// What is known of `container` of `workload` in `namespace`, if a VPA recommends for it.
    pub fn get(&self, namespace: &str, workload: &str, container: &str) -> Option<Tracked<'a>> {
        let vpa = self.vpas.get(&(namespace, workload))?;
        if policy::is_container_off(container, vpa.vpa.spec.resource_policy.as_ref()) {
            return None;
        }
        let (cpu_millicores, memory_bytes) = self
            .memory
            .get(namespace, workload, container)
            .unwrap_or_default();
        Some(Tracked {
            update_mode: mode_label(&vpa.vpa),
            cpu_millicores,
            memory_bytes,
        })
    }
}

/// `amounts[CPU]` (millicores) and `amounts[MEMORY]` (bytes); zero counts as missing.
fn cpu_and_memory(amounts: &Amounts) -> Target {
    let get = |name: &str| amounts.get(name).copied().filter(|v| *v != 0);
    (get(CPU), get(MEMORY))
}

fn mode_label(vpa: &VerticalPodAutoscaler) -> &'static str {
    vpa.spec
        .update_policy
        .as_ref()
        .and_then(|p| p.update_mode)
        .map_or("", |m| m.as_str())
}

/// One observation of `relative_recommendation_changes`: new / old − 1, in millicores and bytes
/// as upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct RecommendationChange {
    /// The VPA's update mode.
    pub update_mode: &'static str,
    /// `cpu` or `memory`.
    pub resource: &'static str,
    /// floor(log2(pods matched by the VPA)).
    pub vpa_size_log2: u32,
    /// Relative change; 0 when unchanged.
    pub relative: f64,
}

/// How `plan`'s uncapped targets moved since `previous` (the last loop's): one change per
/// resource recommended before and now. Containers recommended for the first time give none.
pub fn changes(
    previous: &RecommendationMemory,
    plan: &VpaPlan,
    vpa: &VerticalPodAutoscaler,
) -> Vec<RecommendationChange> {
    let mut out = Vec::new();
    for rec in &plan.recommendations {
        let Some(key) = plan
            .aggregates
            .iter()
            .find(|k| *k.container == rec.container_name)
        else {
            continue;
        };
        let Some((old_cpu, old_memory)) =
            previous.get(&key.namespace, &key.workload, &key.container)
        else {
            continue;
        };
        let (cpu, memory) = cpu_and_memory(&rec.uncapped_target);
        for (resource, new, old) in [(CPU, cpu, old_cpu), (MEMORY, memory, old_memory)] {
            if let (Some(new), Some(old)) = (new, old) {
                out.push(RecommendationChange {
                    update_mode: mode_label(vpa),
                    resource,
                    vpa_size_log2: size_log2(plan.matched_pods),
                    relative: new as f64 / old as f64 - 1.0,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
