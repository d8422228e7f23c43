//! Disruption budget per replica group (pure; upstream `pkg/updater/restriction`).
//!
//! Pods are grouped by their controlling owner (a ReplicaSet, StatefulSet, ...). A group is
//! considered only when it has at least `minReplicas` live pods (the VPA's value, else
//! `--min-replicas`), or holds a pod with a CPU startup boost to scale back (as upstream, the
//! whole group then counts). With `--in-place-skip-disruption-budget` a VPA in an in-place mode
//! also keeps smaller groups, flagged below `minReplicas`: their pods may be resized in place but
//! never evicted (upstream #9180; a resize keeps the pod, so the replica floor that protects
//! availability against evictions does not apply to it). Within a group, at most
//! `int(configured × --eviction-tolerance)` pods may be down at once; when that truncates to zero
//! and the group is fully running, one pod may still go, so small groups make progress one pod
//! per loop. Pending pods can always be evicted: they serve nothing. Counts change as the
//! executor records evictions and in-place resizes, so the budget holds within one loop.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::policy;
use vpa_common::startup_boost::is_boosted;

use crate::pod::{self, ResizeStatus};
use crate::resize::{self, InPlaceMode};

/// Tunables of the disruption budget.
#[derive(Clone, Debug, PartialEq)]
pub struct RestrictionConfig {
    /// Live pods a group needs before any is updated (`--min-replicas`, 2); a VPA's
    /// `updatePolicy.minReplicas` overrides it.
    pub min_replicas: i32,
    /// Fraction of a group's configured replicas that may be disrupted at once
    /// (`--eviction-tolerance`, 0.5).
    pub eviction_tolerance: f64,
    /// In-place resizes that need no restart ignore the budget, and groups below `minReplicas`
    /// may still be resized in place (`--in-place-skip-disruption-budget`).
    pub in_place_skip_disruption_budget: bool,
}

impl Default for RestrictionConfig {
    fn default() -> Self {
        Self {
            min_replicas: 2,
            eviction_tolerance: 0.5,
            in_place_skip_disruption_budget: false,
        }
    }
}

/// A replica group: the controller that owns a set of pods.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Namespace of the controller (and its pods).
    pub namespace: String,
    /// Kind of the controller, e.g. `ReplicaSet`.
    pub kind: String,
    /// Name of the controller.
    pub name: String,
}

impl GroupKey {
    /// The group of `pod`: its controlling ownerReference.
    pub fn of(pod: &Pod) -> Option<Self> {
        let owner = pod::controller_ref(pod)?;
        Some(Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        })
    }
}

/// Why a pod may not be disrupted now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// The pod has no controller, so nothing would recreate it.
    NoController,
    /// Its group has fewer live pods than `minReplicas`.
    TooFewReplicas,
    /// The replica count of its controller is unknown or zero.
    ReplicaCountUnknown,
    /// Disrupting it would take the group below its tolerated size.
    DisruptionBudget,
    /// A resize of this pod is pending or in progress and has not timed out.
    ResizeInProgress,
}

impl Blocked {
    /// Stable label for logs and metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::NoController => "NoController",
            Self::TooFewReplicas => "TooFewReplicas",
            Self::ReplicaCountUnknown => "ReplicaCountUnknown",
            Self::DisruptionBudget => "DisruptionBudget",
            Self::ResizeInProgress => "ResizeInProgress",
        }
    }
}

/// Counters of one replica group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupStats {
    /// Replicas the controller wants.
    pub configured: i64,
    /// Live pods in phase Pending.
    pub pending: i64,
    /// Live pods not Pending.
    pub running: i64,
    /// Pods that may be down at once: `int(configured × tolerance)`.
    pub tolerance: i64,
    /// Pods evicted this loop.
    pub evicted: i64,
    /// Pods resized in place this loop.
    pub in_place_started: i64,
    /// The group has fewer live pods than `minReplicas` and is kept only for in-place resizes
    /// (`--in-place-skip-disruption-budget`): none of its pods may be evicted.
    pub below_min_replicas: bool,
}

impl GroupStats {
    /// Whether one more running pod may be disrupted.
    pub fn disruptable(&self) -> bool {
        let disrupted = self.evicted + self.in_place_started;
        self.running - disrupted > self.configured - self.tolerance
            || (self.configured == self.running && self.tolerance == 0 && disrupted == 0)
    }
}

/// Values by namespace, kind and name of a controller, nested so that a pod's group is found
/// from its borrowed controller reference without allocating.
type ByController<T> = HashMap<String, HashMap<String, HashMap<String, T>>>;

/// The disruption budget of one VPA's pods for one loop.
#[derive(Clone, Debug, Default)]
pub struct Restriction {
    /// Each replica group's counters, or why its pods may not be disrupted at all.
    groups: ByController<Result<GroupStats, Blocked>>,
}

/// Kinds whose replica count the edge looks up; other kinds count as zero configured replicas.
pub const COUNTED_KINDS: [&str; 4] = [
    "ReplicaSet",
    "ReplicationController",
    "StatefulSet",
    "DaemonSet",
];

impl Restriction {
    /// Groups the live pods of `vpa`. `replicas` returns a controller's configured replicas
    /// (`.spec.replicas`, or `.status.numberReady` for a DaemonSet), `None` when unknown.
    pub fn new<'a>(
        vpa: &VerticalPodAutoscaler,
        pods: impl IntoIterator<Item = &'a Pod>,
        replicas: impl Fn(&GroupKey) -> Option<i64>,
        config: &RestrictionConfig,
    ) -> Self {
        let required = vpa
            .spec
            .update_policy
            .as_ref()
            .and_then(|p| p.min_replicas)
            .unwrap_or(config.min_replicas);
        let keep_small_groups = config.in_place_skip_disruption_budget
            && InPlaceMode::of(policy::update_mode(vpa)).is_some();
        // Keys borrowed from the pods: one allocation per group, not per pod.
        let mut live: HashMap<(&str, &str, &str), Vec<&Pod>> = HashMap::new();
        for pod in pods {
            if let Some(owner) = pod::controller_ref(pod) {
                let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
                live.entry((namespace, owner.kind.as_str(), owner.name.as_str()))
                    .or_default()
                    .push(pod);
            }
        }
        let mut groups: ByController<Result<GroupStats, Blocked>> = HashMap::new();
        for ((namespace, kind, name), members) in live {
            let key = GroupKey {
                namespace: namespace.into(),
                kind: kind.into(),
                name: name.into(),
            };
            let count = members.len() as i64;
            // A boosted pod must be scaled back even in a group below minReplicas (upstream).
            let below_min = count < i64::from(required);
            let too_few = below_min && !keep_small_groups && !members.iter().any(|p| is_boosted(p));
            // Flagged only when kept for in-place resizes, as upstream: a group kept for its
            // boosted pod alone stays evictable.
            let below_min_replicas = below_min && keep_small_groups;
            let configured = if too_few {
                Err(Blocked::TooFewReplicas)
            } else if kind == "Job" {
                Ok(count)
            } else if COUNTED_KINDS.contains(&kind) {
                replicas(&key)
                    .filter(|n| *n > 0)
                    .ok_or(Blocked::ReplicaCountUnknown)
            } else {
                Ok(0)
            };
            let group = configured.map(|configured| {
                let pending = members.iter().filter(|p| pod::is_pending(p)).count() as i64;
                GroupStats {
                    configured,
                    pending,
                    running: count - pending,
                    tolerance: (configured as f64 * config.eviction_tolerance) as i64,
                    below_min_replicas,
                    ..GroupStats::default()
                }
            });
            groups
                .entry(key.namespace)
                .or_default()
                .entry(key.kind)
                .or_default()
                .insert(key.name, group);
        }
        Self { groups }
    }

    fn group_of(&self, pod: &Pod) -> Result<&GroupStats, Blocked> {
        let owner = pod::controller_ref(pod).ok_or(Blocked::NoController)?;
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.groups
            .get(namespace)
            .and_then(|kinds| kinds.get(owner.kind.as_str()))
            .and_then(|names| names.get(owner.name.as_str()))
            .ok_or(Blocked::NoController)?
            .as_ref()
            .map_err(|b| *b)
    }

    /// The stats of `pod`'s group, or why it has none.
    pub fn stats(&self, pod: &Pod) -> Result<&GroupStats, Blocked> {
        self.group_of(pod)
    }

    /// Whether `pod` may be evicted now. `resizing_for` is how long the updater has seen the
    /// pod's current resize (see [`resize::ResizeTimers`]). A group kept below `minReplicas`
    /// for in-place resizes never lets a pod be evicted, not even a Pending one.
    pub fn can_evict(&self, pod: &Pod, resizing_for: Duration) -> Result<(), Blocked> {
        let group = self.group_of(pod)?;
        if group.below_min_replicas {
            return Err(Blocked::TooFewReplicas);
        }
        if pod::is_pending(pod) {
            return Ok(());
        }
        let status = pod::resize_status(pod);
        if status.is_resizing() {
            return self.can_evict_resizing(group, status, resizing_for);
        }
        group
            .disruptable()
            .then_some(())
            .ok_or(Blocked::DisruptionBudget)
    }

    fn can_evict_resizing(
        &self,
        group: &GroupStats,
        status: ResizeStatus,
        resizing_for: Duration,
    ) -> Result<(), Blocked> {
        if !group.disruptable() {
            return Err(Blocked::DisruptionBudget);
        }
        if resize::resize_gave_up(status, resizing_for) {
            Ok(())
        } else {
            Err(Blocked::ResizeInProgress)
        }
    }

    /// Counts an eviction of `pod` against its group (Pending pods do not count).
    pub fn record_eviction(&mut self, pod: &Pod) {
        if pod::is_pending(pod) {
            return;
        }
        if let Some(stats) = self.stats_mut(pod) {
            stats.evicted += 1;
        }
    }

    /// Counts an in-place resize of `pod` against its group.
    pub fn record_in_place(&mut self, pod: &Pod) {
        if let Some(stats) = self.stats_mut(pod) {
            stats.in_place_started += 1;
        }
    }

    fn stats_mut(&mut self, pod: &Pod) -> Option<&mut GroupStats> {
        let owner = pod::controller_ref(pod)?;
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.groups
            .get_mut(namespace)?
            .get_mut(owner.kind.as_str())?
            .get_mut(owner.name.as_str())?
            .as_mut()
            .ok()
    }
}
