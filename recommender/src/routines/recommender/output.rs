//! What the loop writes to VPAs: status patches, `--update-worker-count` at a time (the request
//! is [`crate::apiserver::status`]'s), and the per-VPA metrics (edge).

use std::collections::HashMap;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tracing::warn;

use super::Recommender;
use crate::apiserver::status::{patch_status, status_patch};
use crate::input::snapshot::VpaInfo;
use crate::model::Timestamp;
use crate::routines::plan::{PlanSummary, VpaPlan};
use crate::service::metrics::LoopObservations;

/// How long a VPA may go without a recommendation before a warning (upstream's 30 minutes).
pub const RECOMMENDATION_MISSING_WARNING: std::time::Duration =
    std::time::Duration::from_secs(1800);

impl Recommender {
    /// Warns, every 30 minutes per VPA, about VPAs that still have no recommendation.
    pub(super) fn warn_missing(&mut self, plans: &[PlanSummary]) {
        let now = tokio::time::Instant::now();
        let mut still_missing = HashMap::new();
        for plan in plans.iter().filter(|p| !p.has_recommendation) {
            let key = (plan.namespace.clone(), plan.name.clone());
            let mut since = self.missing_since.get(&key).copied().unwrap_or(now);
            if now.duration_since(since) >= RECOMMENDATION_MISSING_WARNING {
                warn!(namespace = %plan.namespace, vpa = %plan.name, matched_pods = plan.matched_pods,
                    unsupported = plan.unsupported, "VPA has had no recommendation for 30 minutes");
                since = now;
            }
            still_missing.insert(key, since);
        }
        self.missing_since = still_missing;
    }

    /// Patches the statuses that changed, `update_worker_count` at a time; returns how many were
    /// written. Each body is built only when its request starts: at 10k VPAs, building them all
    /// up front held about 100 MiB.
    pub(super) async fn write_statuses(&self, plans: &[VpaPlan]) -> usize {
        let workers = self.config.update_worker_count.max(1);
        let mut running = FuturesUnordered::new();
        let (mut next, mut written) = (0, 0);
        loop {
            // Index-based so the future holds no closure over borrowed plans (keeps it Send).
            while running.len() < workers && next < plans.len() {
                let p = &plans[next];
                next += 1;
                if p.write {
                    running.push(patch_status(
                        self.client.clone(),
                        p.namespace.clone(),
                        p.name.clone(),
                        status_patch(&p.status),
                    ));
                }
            }
            match running.next().await {
                Some(ok) => written += usize::from(ok),
                None if next >= plans.len() => return written,
                None => {}
            }
        }
    }

    /// Records a chunk's plans for the per-VPA metrics (`vpas[i]` is the VPA of `plans[i]`),
    /// and the recommendation latency of VPAs getting their first recommendation.
    pub(super) fn observe(
        &self,
        plans: &[VpaPlan],
        vpas: &[VpaInfo],
        now: Timestamp,
        observed: &mut LoopObservations,
    ) {
        for (plan, vpa) in plans.iter().zip(vpas) {
            if plan.write
                && plan.first_recommendation
                && let Some(created) = vpa.vpa.metadata.creation_timestamp.as_ref()
            {
                self.metrics
                    .recommendation_latency
                    .observe((now - created.0.as_second()).max(0) as f64);
            }
            observed.add(plan, vpa_common::policy::update_mode(&vpa.vpa).as_str());
        }
    }
}
