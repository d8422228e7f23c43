//! What the loop writes to VPAs: status patches and the per-VPA metrics (edge).

use std::collections::HashMap;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::Client;
use serde_json::{Value, json};
use tracing::{debug, warn};
use vpa_common::api::VerticalPodAutoscaler;

use super::Recommender;
use crate::input::snapshot::VpaInfo;
use crate::model::Timestamp;
use crate::routines::plan::{PlanSummary, VpaPlan};
use crate::routines::raw_request;
use crate::service::metrics::LoopObservations;

/// The status as a merge patch body: absent fields become `null` so they are removed.
pub(super) fn status_patch(plan: &VpaPlan) -> Value {
    let mut status = serde_json::to_value(&plan.status).unwrap_or_else(|_| json!({}));
    if let Some(map) = status.as_object_mut() {
        for field in ["recommendation", "conditions", "observedGeneration"] {
            map.entry(field).or_insert(Value::Null);
        }
    }
    json!({ "status": status })
}

/// Patches one VPA's status (owned arguments keep the future free of borrows); whether it was
/// written. The answer (the whole VPA) is not decoded.
async fn patch_status(client: Client, namespace: String, name: String, body: Value) -> bool {
    let path = raw_request::object_path::<VerticalPodAutoscaler>(&namespace, &name, "/status");
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    match raw_request::patch(&client, &path, raw_request::MERGE_PATCH, bytes).await {
        Ok(_) => {
            debug!(%namespace, vpa = %name, "Status written");
            true
        }
        Err(error) => {
            warn!(%namespace, vpa = %name, %error, "Cannot write status");
            false
        }
    }
}

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
                        status_patch(p),
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

#[cfg(test)]
mod tests {
    use vpa_common::api::VerticalPodAutoscalerStatus;

    use super::*;

    #[test]
    fn status_patch_nulls_what_the_new_status_lacks() {
        let plan = VpaPlan {
            namespace: "ns".into(),
            name: "web".into(),
            status: VerticalPodAutoscalerStatus {
                observed_generation: Some(2),
                ..Default::default()
            },
            write: true,
            first_recommendation: false,
            recommendations: vec![],
            matched_pods: 0,
            unsupported: false,
            aggregates: vec![],
        };
        assert_eq!(
            status_patch(&plan),
            json!({"status": {"recommendation": null, "conditions": null, "observedGeneration": 2}})
        );
    }
}
