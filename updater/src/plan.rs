//! Snapshot → plan (pure): which VPAs are handled, which pods each controls, and per VPA the
//! ordered pods to resize in place or to evict, with the reason for every pod left alone.
//!
//! Matching uses the shared rule of `vpa_common::matching` (topmost controller = targetRef,
//! selector matches, oldest VPA wins) through an index by target, so the cost is linear in pods.
//! Recommendations are capped per pod with `vpa_common::capping::cap_for_pod`, the same
//! post-processing the admission controller applies, so both agree on the target.

use std::borrow::Cow;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::{
    PodResourcePolicy, RecommendedContainerResources, UpdateMode, VerticalPodAutoscaler,
};
use vpa_common::capping::{
    ContainerRecommendation, PodContainer, cap_for_pod, recommendations_from_status,
};
use vpa_common::limitrange::NamespaceLimits;
use vpa_common::matching::{self, ControllerLookup, OwnerError};
use vpa_common::pod_resources::resources_for_pod;
use vpa_common::{policy, resources};

use crate::config::UpdaterConfig;
use crate::inplace::{self, ContainerResize, Defer, InPlaceDecision, ResizeTimers};
use crate::pod::{self, PodKey};
use crate::priority::{self, PodPriority};
use crate::restriction::{Blocked, Restriction};
use crate::snapshot::Snapshot;

/// Why a VPA is not handled this loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VpaSkip {
    /// Its namespace is filtered out by the namespace flags.
    Namespace,
    /// Its mode (Off, Initial) does not update running pods.
    ModeOff,
    /// `InPlace` mode (alpha) is not implemented; its pods are left alone.
    InPlaceUnsupported,
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
}

impl PodSkip {
    /// Stable label for logs and metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Priority(s) => s.metric_label(),
            Self::Blocked(b) => b.metric_label(),
            Self::Deferred(d) => d.metric_label(),
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
    /// Pods to resize in place, most urgent first (InPlaceOrRecreate).
    pub in_place: Vec<PodUpdate<'a>>,
    /// Pods to evict, most urgent first.
    pub evict: Vec<PodUpdate<'a>>,
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
        UpdateMode::InPlace => return Err(VpaSkip::InPlaceUnsupported),
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

type Candidates<'a> = Vec<(usize, &'a VerticalPodAutoscaler, LabelSelector)>;

/// Groups live pods by the VPA controlling them. Returns, per handled VPA index, its pods.
///
/// Allocation-light: VPAs are indexed by `namespace → kind → name` of their target with keys
/// borrowed from the snapshot, and the ownership walk is done once per direct owner (all pods of
/// a ReplicaSet share it), not once per pod.
fn match_pods<'a>(
    snapshot: &'a Snapshot,
    handled: &[(usize, &'a VerticalPodAutoscaler)],
    owner_errors: &mut Vec<(PodKey, OwnerError)>,
) -> HashMap<usize, Vec<&'a Pod>> {
    let mut by_target: HashMap<&'a str, HashMap<&'a str, HashMap<&'a str, Candidates<'a>>>> =
        HashMap::new();
    for &(i, vpa) in handled {
        let namespace = vpa.metadata.namespace.as_deref().unwrap_or_default();
        let target = &vpa.spec.target_ref;
        let Some(selector) = snapshot
            .controllers
            .selector(namespace, &matching::target_key(vpa))
        else {
            continue;
        };
        by_target
            .entry(namespace)
            .or_default()
            .entry(target.kind.as_str())
            .or_default()
            .entry(target.name.as_str())
            .or_default()
            .push((i, vpa, selector));
    }
    type Walk = Result<Option<matching::ControllerKey>, OwnerError>;
    let mut walks: HashMap<(&'a str, &'a str, &'a str), Walk> = HashMap::new();
    let mut out: HashMap<usize, Vec<&Pod>> = HashMap::new();
    let no_labels = Default::default();
    for pod in snapshot.pods.iter().map(|p| p.as_ref()) {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let Some(in_namespace) = by_target.get(namespace) else {
            continue;
        };
        let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
        let Some(direct) = matching::controller_ref(owners) else {
            continue;
        };
        let walk = walks
            .entry((namespace, direct.kind.as_str(), direct.name.as_str()))
            .or_insert_with(|| {
                matching::topmost_controller(namespace, owners, &snapshot.controllers)
            });
        let controller = match walk {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                owner_errors.push((PodKey::of(pod), e.clone()));
                continue;
            }
        };
        let Some(candidates) = in_namespace
            .get(controller.kind.as_str())
            .and_then(|by_name| by_name.get(controller.name.as_str()))
        else {
            continue;
        };
        let labels = pod.metadata.labels.as_ref().unwrap_or(&no_labels);
        let winner = candidates
            .iter()
            .filter(|(_, _, sel)| matching::selector_matches(sel, labels).unwrap_or(false))
            .min_by(|a, b| matching::compare_strength(a.1, b.1));
        if let Some((i, _, _)) = winner {
            out.entry(*i).or_default().push(pod);
        }
    }
    out
}

/// A VPA's recommendation, parsed once per loop (only when something caps it) and capped per
/// pod.
struct Recommendation<'a> {
    api: &'a [RecommendedContainerResources],
    /// Parsed for capping; `None` when neither a policy nor a LimitRange caps it.
    parsed: Option<Vec<ContainerRecommendation>>,
    policy: Option<&'a PodResourcePolicy>,
}

impl<'a> Recommendation<'a> {
    fn of(vpa: &'a VerticalPodAutoscaler, limits: &NamespaceLimits) -> Self {
        let api = vpa
            .status
            .as_ref()
            .and_then(|s| s.recommendation.as_ref())
            .and_then(|r| r.container_recommendations.as_deref())
            .unwrap_or_default();
        let policy = vpa.spec.resource_policy.as_ref();
        let capped = policy.is_some() || limits.pod.is_some() || limits.container.is_some();
        Self {
            api,
            parsed: capped.then(|| recommendations_from_status(vpa).unwrap_or_default()),
            policy,
        }
    }

    /// The recommendation capped for `pod`, in API form.
    fn for_pod(
        &self,
        pod: &Pod,
        limits: &NamespaceLimits,
    ) -> Cow<'a, [RecommendedContainerResources]> {
        let Some(parsed) = &self.parsed else {
            // Nothing to cap against: capping would only drop entries for containers the pod
            // lacks, which every consumer ignores anyway, so borrow the VPA's recommendation and
            // skip the parse/format round trip (the hot path in large clusters).
            return Cow::Borrowed(self.api);
        };
        let containers: Vec<PodContainer> = pod::all_containers(pod)
            .map(PodContainer::from_container)
            .collect();
        cap_for_pod(parsed, self.policy, &containers, limits)
            .recommendations
            .iter()
            .map(|r| r.to_api())
            .collect::<Vec<_>>()
            .into()
    }
}

/// The VPA's recommendation capped for `pod` (policy and LimitRanges, as the admission
/// controller applies them), in API form.
pub fn capped_recommendation(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    limits: &NamespaceLimits,
) -> Vec<RecommendedContainerResources> {
    Recommendation::of(vpa, limits)
        .for_pod(pod, limits)
        .into_owned()
}

/// New requests and limits for each regular container of `pod`, for the resize subresource.
pub fn resizes_for(
    vpa: &VerticalPodAutoscaler,
    pod: &Pod,
    limits: &NamespaceLimits,
) -> Vec<ContainerResize> {
    let containers: Vec<PodContainer> = pod
        .spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(PodContainer::from_container)
                .collect()
        })
        .unwrap_or_default();
    let Ok(per_container) = resources_for_pod(vpa, &containers, limits) else {
        return Vec::new();
    };
    per_container
        .into_iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let r = r?;
            Some(ContainerResize {
                index,
                requests: resources::resource_list(&r.requests),
                limits: resources::resource_list(&r.limits),
            })
        })
        .collect()
}

/// Builds the plan for one loop.
pub fn plan<'a>(
    snapshot: &'a Snapshot,
    timers: &ResizeTimers,
    now: Timestamp,
    config: &UpdaterConfig,
) -> Plan<'a> {
    let mut out = Plan::default();
    let mut handled = Vec::new();
    for (i, vpa) in snapshot.vpas.iter().map(|v| v.as_ref()).enumerate() {
        match handled_mode(vpa, config) {
            Ok(_) => handled.push((i, vpa)),
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
        out.vpas
            .push(plan_vpa(vpa, pods, snapshot, limits, timers, now, config));
    }
    out
}

fn plan_vpa<'a>(
    vpa: &'a VerticalPodAutoscaler,
    pods: Vec<&'a Pod>,
    snapshot: &Snapshot,
    limits: &NamespaceLimits,
    timers: &ResizeTimers,
    now: Timestamp,
    config: &UpdaterConfig,
) -> VpaPlan<'a> {
    let mode = policy::update_mode(vpa);
    let restriction = Restriction::new(
        vpa,
        pods.iter().copied(),
        |key| snapshot.controllers.replicas(key),
        &config.restriction,
    );
    let in_place = mode == UpdateMode::InPlaceOrRecreate;
    let recommendation = Recommendation::of(vpa, limits);
    let mut skipped = Vec::new();
    let mut eligible = Vec::new();
    for &pod in &pods {
        let resizing_for = timers.resizing_for(pod, now);
        let verdict = if in_place {
            match inplace::decide(
                &restriction,
                pod,
                true,
                resizing_for,
                config.restriction.in_place_skip_disruption_budget,
            ) {
                InPlaceDecision::Deferred(d) => Err(PodSkip::Deferred(d)),
                _ => Ok(()),
            }
        } else {
            restriction
                .can_evict(pod, resizing_for)
                .map_err(PodSkip::Blocked)
        };
        match verdict {
            Ok(()) => eligible.push((pod, recommendation.for_pod(pod, limits))),
            Err(skip) => skipped.push((PodKey::of(pod), skip)),
        }
    }
    let (candidates, priority_skips) = priority::prioritize(vpa, eligible, now, &config.priority);
    skipped.extend(
        priority_skips
            .into_iter()
            .map(|(pod, skip)| (PodKey::of(pod), PodSkip::Priority(skip))),
    );
    let updates = candidates.into_iter().map(|c| PodUpdate {
        pod: c.pod,
        priority: c.priority,
        resizes: if in_place {
            resizes_for(vpa, c.pod, limits)
        } else {
            Vec::new()
        },
    });
    let (in_place_list, evict) = if in_place {
        (updates.collect(), Vec::new())
    } else {
        (Vec::new(), updates.collect())
    };
    VpaPlan {
        vpa,
        mode,
        pods,
        restriction,
        in_place: in_place_list,
        evict,
        skipped,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
