//! Snapshot → plan (pure): which VPAs are handled, which pods each controls, and per VPA the
//! ordered pods to resize in place or to evict, with the reason for every pod left alone, and
//! the CPU-boosted pods to scale back ([`crate::unboost`]).
//!
//! The VPA's `evictionRequirements` gate evictions only: pods of an in-place mode are resized
//! whatever direction the change takes, and the requirements are checked again only if an
//! `InPlaceOrRecreate` pod falls back to eviction ([`PodUpdate::eviction_allowed`]). Upstream
//! 1.7.1 applied them to in-place candidates as well (kubernetes/autoscaler#10181); this takes
//! the fix of kubernetes/autoscaler#10219.
//!
//! Matching uses the shared rule of `vpa_common::matching` (topmost controller = targetRef,
//! selector matches, oldest VPA wins) through an index by target, so the cost is linear in pods.
//! Recommendations are capped per pod with `vpa_common::capping::cap_for_pod`, the same
//! post-processing the admission controller applies, so both agree on the target.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::{RecommendedContainerResources, UpdateMode, VerticalPodAutoscaler};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::matching::OwnerError;
use vpa_common::{policy, startup_boost};

use crate::config::UpdaterConfig;
use crate::infeasible::InfeasibleAttempts;
use crate::inplace::{self, ContainerResize, Defer, InPlaceDecision};
use crate::pod::PodKey;
use crate::priority::{self, PodPriority};
use crate::resize::{InPlaceMode, ResizeTimers};
use crate::restriction::{Blocked, Restriction};
use crate::snapshot::Snapshot;
use crate::unboost::{self, Unboost};

mod pod_matching;
mod recommendation;

use pod_matching::match_pods;
use recommendation::Recommendation;
pub use recommendation::{capped_recommendation, resizes_for};

/// Why a VPA is not handled this loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VpaSkip {
    /// Its namespace is filtered out by the namespace flags.
    Namespace,
    /// Its mode (Off, Initial) does not update running pods.
    ModeOff,
    /// `InPlace` mode (alpha) without the updater's feature gate `InPlace`: its pods are left
    /// alone, as upstream.
    InPlaceGateDisabled,
    /// It has no recommendation yet.
    NoRecommendation,
}

/// Why a pod is not updated this loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PodSkip {
    /// The priority rules leave it alone.
    Priority(priority::Skip),
    /// The disruption budget or replica checks block it.
    Blocked(Blocked),
    /// Its in-place update waits.
    Deferred(Defer),
    /// `InPlace` mode: its last resize was infeasible and no target dropped below the attempted
    /// one since (see [`crate::infeasible`]).
    InfeasibleAttempt,
    /// It is CPU-boosted: only scaling it back may touch it (see [`crate::unboost`]).
    Boosted,
}

impl PodSkip {
    /// Stable label for logs and metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Priority(s) => s.metric_label(),
            Self::Blocked(b) => b.metric_label(),
            Self::Deferred(d) => d.metric_label(),
            Self::InfeasibleAttempt => "InfeasibleAttempt",
            Self::Boosted => "Boosted",
        }
    }
}

/// A pod selected for update.
#[derive(Clone, Debug)]
pub struct PodUpdate<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Its priority.
    pub priority: PodPriority,
    /// In-place changes per container (empty for eviction-only modes).
    pub resizes: Vec<ContainerResize>,
    /// The recommendation capped for this pod: what it is updated to.
    pub recommendation: Cow<'a, [RecommendedContainerResources]>,
    /// Whether the VPA's `evictionRequirements` let this pod be evicted: always for pods planned
    /// for eviction; for `InPlaceOrRecreate` pods the check that guards a fallback to eviction;
    /// never in `InPlace` mode.
    pub eviction_allowed: bool,
}

/// The plan for one VPA.
#[derive(Debug)]
pub struct VpaPlan<'a> {
    /// The VPA.
    pub vpa: &'a VerticalPodAutoscaler,
    /// Its effective update mode.
    pub mode: UpdateMode,
    /// Live pods it controls.
    pub pods: Vec<&'a Pod>,
    /// The disruption budget of those pods for this loop.
    pub restriction: Restriction,
    /// Pods to resize in place, most urgent first (InPlaceOrRecreate, InPlace).
    pub in_place: Vec<PodUpdate<'a>>,
    /// Pods to evict, most urgent first.
    pub evict: Vec<PodUpdate<'a>>,
    /// Pods whose CPU startup boost expired, to scale back first.
    pub unboost: Vec<Unboost<'a>>,
    /// Pods left alone and why.
    pub skipped: Vec<(PodKey, PodSkip)>,
}

/// The plan for one loop.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    /// Handled VPAs, in snapshot order.
    pub vpas: Vec<VpaPlan<'a>>,
    /// VPAs left alone and why.
    pub skipped_vpas: Vec<(&'a VerticalPodAutoscaler, VpaSkip)>,
    /// Pods whose ownership chain could not be resolved.
    pub owner_errors: Vec<(PodKey, OwnerError)>,
}

/// The effective mode of a VPA for the updater, or why it is skipped.
pub fn handled_mode(
    vpa: &VerticalPodAutoscaler,
    config: &UpdaterConfig,
) -> Result<UpdateMode, VpaSkip> {
    let namespace = vpa.metadata.namespace.as_deref().unwrap_or_default();
    if !config.namespaces.allows(namespace) {
        return Err(VpaSkip::Namespace);
    }
    let mode = policy::update_mode(vpa);
    match mode {
        UpdateMode::Off | UpdateMode::Initial => return Err(VpaSkip::ModeOff),
        UpdateMode::InPlace if !config.in_place_gate => return Err(VpaSkip::InPlaceGateDisabled),
        _ => {}
    }
    let has_recommendation = vpa
        .status
        .as_ref()
        .and_then(|s| s.recommendation.as_ref())
        .and_then(|r| r.container_recommendations.as_ref())
        .is_some_and(|r| !r.is_empty());
    if !has_recommendation {
        return Err(VpaSkip::NoRecommendation);
    }
    Ok(mode)
}

/// What the edge remembers about pods across loops, for the plan.
#[derive(Clone, Copy, Debug)]
pub struct PodHistory<'m> {
    /// When each resizing pod was first seen resizing.
    pub timers: &'m ResizeTimers,
    /// Targets of in-place resizes reported infeasible (`InPlace` mode).
    pub infeasible: &'m InfeasibleAttempts,
}

/// Builds the plan for one loop.
pub fn plan<'a>(
    snapshot: &'a Snapshot,
    history: PodHistory<'_>,
    now: Timestamp,
    config: &UpdaterConfig,
) -> Plan<'a> {
    let mut out = Plan::default();
    let mut handled = Vec::new();
    let mut unboost_only = HashSet::new();
    for (i, vpa) in snapshot.vpas.iter().map(|v| v.as_ref()).enumerate() {
        match handled_mode(vpa, config) {
            Ok(_) => handled.push((i, vpa)),
            // Any mode, with or without a recommendation, scales its boosted pods back.
            Err(skip) if skip != VpaSkip::Namespace && unboost::applies(vpa, config) => {
                handled.push((i, vpa));
                unboost_only.insert(i);
            }
            Err(skip) => out.skipped_vpas.push((vpa, skip)),
        }
    }
    let mut pods_by_vpa = match_pods(snapshot, &handled, &mut out.owner_errors);
    let mut limits_by_namespace: HashMap<&str, NamespaceLimits> = HashMap::new();
    for (i, vpa) in handled {
        let pods = pods_by_vpa.remove(&i).unwrap_or_default();
        let namespace = vpa.metadata.namespace.as_deref().unwrap_or_default();
        let limits = limits_by_namespace.entry(namespace).or_insert_with(|| {
            NamespaceLimits::from_limit_ranges(
                snapshot
                    .limit_ranges
                    .iter()
                    .filter(|lr| lr.metadata.namespace.as_deref() == Some(namespace)),
            )
        });
        out.vpas.push(if unboost_only.contains(&i) {
            unboost::vpa_plan(vpa, pods, snapshot, limits, now, config)
        } else {
            let context = VpaContext {
                snapshot,
                limits,
                history,
                now,
                config,
            };
            plan_vpa(vpa, pods, &context)
        });
    }
    out
}

/// Everything one VPA's plan reads besides the VPA and its pods.
struct VpaContext<'c> {
    snapshot: &'c Snapshot,
    limits: &'c NamespaceLimits,
    history: PodHistory<'c>,
    now: Timestamp,
    config: &'c UpdaterConfig,
}

fn plan_vpa<'a>(
    vpa: &'a VerticalPodAutoscaler,
    pods: Vec<&'a Pod>,
    context: &VpaContext<'_>,
) -> VpaPlan<'a> {
    let VpaContext {
        snapshot,
        limits,
        history,
        now,
        config,
    } = *context;
    let mode = policy::update_mode(vpa);
    let restriction = Restriction::new(
        vpa,
        pods.iter().copied(),
        |key| crate::snapshot::group_replicas(&snapshot.controllers, key),
        &config.restriction,
    );
    let in_place = InPlaceMode::of(mode);
    let recommendation = Recommendation::of(vpa, limits);
    let mut skipped = Vec::new();
    let mut eligible = Vec::new();
    let boosting = unboost::applies(vpa, config);
    let unboost = if boosting {
        unboost::plan(vpa, &pods, limits, now)
    } else {
        Vec::new()
    };
    for &pod in &pods {
        if boosting && startup_boost::is_boosted(pod) {
            skipped.push((PodKey::of(pod), PodSkip::Boosted));
            continue;
        }
        let resizing_for = history.timers.resizing_for(pod, now);
        let verdict = match in_place {
            Some(in_place) => match inplace::decide(
                &restriction,
                pod,
                in_place,
                true,
                resizing_for,
                config.restriction.in_place_skip_disruption_budget,
            ) {
                InPlaceDecision::Deferred(d) => Err(PodSkip::Deferred(d)),
                _ => Ok(()),
            },
            None => restriction
                .can_evict(pod, resizing_for)
                .map_err(PodSkip::Blocked),
        };
        let verdict = verdict.and_then(|()| {
            let capped = recommendation.for_pod(pod, limits);
            if in_place == Some(InPlaceMode::Only) && !history.infeasible.allows(pod, &capped) {
                Err(PodSkip::InfeasibleAttempt)
            } else {
                Ok(capped)
            }
        });
        match verdict {
            Ok(capped) => eligible.push((pod, capped)),
            Err(skip) => skipped.push((PodKey::of(pod), skip)),
        }
    }
    let (candidates, priority_skips) = priority::prioritize(vpa, eligible, now, &config.priority);
    let (candidates, denied) = match in_place {
        Some(_) => (candidates, Vec::new()),
        None => priority::admit_evictions(vpa, candidates),
    };
    skipped.extend(
        priority_skips
            .into_iter()
            .chain(denied)
            .map(|(pod, skip)| (PodKey::of(pod), PodSkip::Priority(skip))),
    );
    let updates = candidates.into_iter().map(|c| PodUpdate {
        pod: c.pod,
        priority: c.priority,
        resizes: match in_place {
            Some(_) => resizes_for(vpa, c.pod, limits),
            None => Vec::new(),
        },
        eviction_allowed: match in_place {
            None => true,
            Some(InPlaceMode::OrRecreate) => {
                priority::eviction_requirements_allow(vpa, c.pod, &c.recommendation)
            }
            Some(InPlaceMode::Only) => false,
        },
        recommendation: c.recommendation,
    });
    let (in_place_list, evict) = match in_place {
        Some(_) => (updates.collect(), Vec::new()),
        None => (Vec::new(), updates.collect()),
    };
    VpaPlan {
        vpa,
        mode,
        pods,
        restriction,
        in_place: in_place_list,
        evict,
        unboost,
        skipped,
    }
}

#[cfg(test)]
mod tests;
