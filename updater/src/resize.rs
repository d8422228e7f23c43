//! In-place resize progress (pure): the two in-place update modes, when the updater first saw
//! each pod resizing ([`ResizeTimers`]) and when a resize is given up for an eviction (upstream's
//! timeouts). Below both [`crate::restriction`] and [`crate::inplace`], which read it.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use vpa_common::api::UpdateMode;

use crate::pod::{self, PodKey, ResizeStatus};
use crate::time::elapsed;

/// A `Deferred` resize older than this falls back to eviction (upstream constant, 5 min).
pub const DEFERRED_RESIZE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// An `InProgress` resize older than this falls back to eviction (upstream constant, 1 h).
pub const IN_PROGRESS_RESIZE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Whether a resize in `status`, seen for `resizing_for`, should be abandoned for an eviction.
pub fn resize_gave_up(status: ResizeStatus, resizing_for: Duration) -> bool {
    match status {
        ResizeStatus::None => false,
        ResizeStatus::Deferred => resizing_for > DEFERRED_RESIZE_TIMEOUT,
        ResizeStatus::InProgress => resizing_for > IN_PROGRESS_RESIZE_TIMEOUT,
        ResizeStatus::Infeasible | ResizeStatus::Error | ResizeStatus::Unknown => true,
    }
}

/// When the updater first saw each pod resizing. Kept across loops by the edge.
#[derive(Clone, Debug, Default)]
pub struct ResizeTimers {
    first_seen: HashMap<PodKey, Timestamp>,
}

impl ResizeTimers {
    /// Starts a timer for every resizing pod not yet timed, and forgets pods that are no longer
    /// resizing (or gone). Call once per loop with all live pods.
    pub fn observe<'a>(&mut self, pods: impl IntoIterator<Item = &'a Pod>, now: Timestamp) {
        let mut still = HashMap::new();
        for p in pods {
            if pod::resize_status(p).is_resizing() {
                let key = PodKey::of(p);
                let since = self.first_seen.get(&key).copied().unwrap_or(now);
                still.insert(key, since);
            }
        }
        self.first_seen = still;
    }

    /// How long `pod` has been seen resizing (zero when not resizing).
    pub fn resizing_for(&self, pod: &Pod, now: Timestamp) -> Duration {
        if self.first_seen.is_empty() {
            return Duration::ZERO;
        }
        self.first_seen
            .get(&PodKey::of(pod))
            .map_or(Duration::ZERO, |since| elapsed(*since, now))
    }

    /// Number of pods being timed.
    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    /// Whether no pod is being timed.
    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }
}

/// Which of the two in-place update modes decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InPlaceMode {
    /// `InPlaceOrRecreate`: a failed or timed-out resize falls back to eviction.
    OrRecreate,
    /// `InPlace` (alpha, gate `InPlace`): resize only, never evict.
    Only,
}

impl InPlaceMode {
    /// The in-place mode of an update mode, `None` for the modes that evict or do nothing.
    pub fn of(mode: UpdateMode) -> Option<Self> {
        match mode {
            UpdateMode::InPlaceOrRecreate => Some(Self::OrRecreate),
            UpdateMode::InPlace => Some(Self::Only),
            _ => None,
        }
    }
}
