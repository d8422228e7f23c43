//! The cluster state one loop works on (pure data): VPAs, live pods, LimitRanges and the
//! controllers needed to match pods to VPAs and to size replica groups.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{LimitRange, Pod};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::controllers::{Controllers, Replicas};

use crate::restriction;

/// Configured replicas of a replica group's controller: `.spec.replicas`, or a DaemonSet's
/// `.status.numberReady`.
pub fn group_replicas(controllers: &Controllers, key: &restriction::GroupKey) -> Option<i64> {
    controllers
        .replicas(&key.namespace, &key.kind, &key.name)
        .map(Replicas::count)
}

/// Everything one loop decides on.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// All VPAs (the plan filters by mode and namespace).
    pub vpas: Vec<Arc<VerticalPodAutoscaler>>,
    /// Scheduled pods not Succeeded/Failed (the plan drops those being deleted).
    pub pods: Vec<Arc<Pod>>,
    /// All LimitRanges.
    pub limit_ranges: Vec<LimitRange>,
    /// Controllers for matching and replica counts.
    pub controllers: Controllers,
}
