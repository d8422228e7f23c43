//! Memory of in-place resizes the kubelet could not fit, for `InPlace` mode (pure data kept by
//! the edge across loops; upstream's `infeasibleAttempts` map in `logic/updater.go` and
//! `hasLowerResourceRecommendation` in `priority/update_priority_calculator.go`).
//!
//! In `InPlace` mode a pod is never evicted, so a resize the node cannot fit (`PodResizePending`
//! with reason `Infeasible`, or `PodResizeInProgress` with reason `Error`) would otherwise be
//! retried every loop with the same targets. When the updater retries such a pod it records the
//! targets it applies (the recommendation capped for that pod), and from then on the pod is
//! considered again only when some new target is *lower* than the attempted one for the same
//! container and resource: a smaller request is the only change that can make an infeasible
//! resize fit. A higher or equal recommendation leaves the pod alone.
//!
//! Attempts are keyed by pod UID (a recreated pod with the same name starts afresh) and live in
//! memory only, as upstream: after an updater restart each infeasible pod is retried once more.
//! An attempt is forgotten when its pod is gone, and also (unlike upstream, which keeps it for
//! the pod's lifetime) once the pod no longer reports an `Infeasible` or `Error` resize: a
//! retry that the kubelet then actuated would otherwise keep the pod from ever following a
//! recommendation that rises above the attempted targets again.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use vpa_common::api::RecommendedContainerResources;

use crate::pod::{self, ResizeStatus};
use crate::priority::milli;

/// Targets last attempted on pods whose resize the kubelet reported infeasible.
#[derive(Clone, Debug, Default)]
pub struct InfeasibleAttempts {
    /// By pod UID (`namespace/name` for a pod without one): the capped recommendation applied.
    attempted: HashMap<String, Vec<RecommendedContainerResources>>,
}

fn key(pod: &Pod) -> String {
    match &pod.metadata.uid {
        Some(uid) => uid.clone(),
        None => pod::PodKey::of(pod).to_string(),
    }
}

/// Whether the kubelet reports the pod's last resize as one that cannot be actuated.
fn reports_infeasible(pod: &Pod) -> bool {
    matches!(
        pod::resize_status(pod),
        ResizeStatus::Infeasible | ResizeStatus::Error
    )
}

impl InfeasibleAttempts {
    /// Records that `targets` (the recommendation capped for `pod`) were applied to `pod` after
    /// its previous resize was reported infeasible; replaces an earlier attempt.
    pub fn record(&mut self, pod: &Pod, targets: &[RecommendedContainerResources]) {
        self.attempted.insert(key(pod), targets.to_vec());
    }

    /// The targets last attempted on `pod`, if any.
    pub fn attempted(&self, pod: &Pod) -> Option<&[RecommendedContainerResources]> {
        self.attempted.get(&key(pod)).map(Vec::as_slice)
    }

    /// Whether `pod` may be resized towards `recommendation`: always when nothing was recorded
    /// for it, else only when some target is lower than the attempted one.
    pub fn allows(&self, pod: &Pod, recommendation: &[RecommendedContainerResources]) -> bool {
        self.attempted(pod)
            .is_none_or(|attempted| has_lower_target(attempted, recommendation))
    }

    /// Keeps only attempts of pods in `pods` that still report an infeasible resize. Call once
    /// per loop with all live pods.
    pub fn observe<'a>(&mut self, pods: impl IntoIterator<Item = &'a Pod>) {
        if self.attempted.is_empty() {
            return;
        }
        let mut still = HashMap::new();
        for p in pods {
            if reports_infeasible(p)
                && let Some((k, v)) = self.attempted.remove_entry(&key(p))
            {
                still.insert(k, v);
            }
        }
        self.attempted = still;
    }

    /// Number of pods with a recorded attempt.
    pub fn len(&self) -> usize {
        self.attempted.len()
    }

    /// Whether no attempt is recorded.
    pub fn is_empty(&self) -> bool {
        self.attempted.is_empty()
    }
}

/// Whether some container of `new` has a target below the one `attempted` held for the same
/// container and resource (compared in milli-units). Containers or resources missing from
/// either side do not count.
pub fn has_lower_target(
    attempted: &[RecommendedContainerResources],
    new: &[RecommendedContainerResources],
) -> bool {
    new.iter().any(|n| {
        let Some(a) = attempted
            .iter()
            .find(|a| a.container_name == n.container_name)
        else {
            return false;
        };
        n.target.iter().any(|(resource, target)| {
            let before = a.target.get(resource).and_then(milli);
            matches!((milli(target), before), (Some(now), Some(before)) if now < before)
        })
    })
}

#[cfg(test)]
mod tests;
