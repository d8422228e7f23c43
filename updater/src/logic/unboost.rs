//! Scaling boosted pods back (edge): for each pod of the plan whose CPU startup boost expired,
//! a fresh [`unboost::can_unboost`] check, the in-place rate limiter, the `pods/resize` patch,
//! then the annotation patch and the `InPlaceResizedByVPA` event. Runs before the VPA's
//! in-place updates and evictions, which it shares the disruption budget with, as upstream.

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Flow, LoopReport, Updater};
use crate::cluster_api::{ClusterApi, UpdaterEvent, pod_reference};
use crate::inplace;
use crate::metrics;
use crate::plan::VpaPlan;
use crate::pod::PodKey;
use crate::unboost::{self, Unboost};

impl<C: ClusterApi> Updater<C> {
    /// Scales back the plan's boosted pods; `Stop` when the rate limiter would pass the
    /// loop's deadline.
    pub(super) async fn unboost(
        &self,
        vpa_plan: &mut VpaPlan<'_>,
        deadline: Instant,
        report: &mut LoopReport,
    ) -> Flow {
        let size = metrics::size_log2(vpa_plan.pods.len());
        let vpa = vpa_plan.vpa;
        let vpa_name = vpa.metadata.name.clone().unwrap_or_default();
        let vpa_namespace = vpa.metadata.namespace.clone().unwrap_or_default();
        for candidate in std::mem::take(&mut vpa_plan.unboost) {
            let key = PodKey::of(candidate.pod);
            if let Err(skip) = unboost::can_unboost(&vpa_plan.restriction, candidate.pod) {
                debug!(pod = %key, reason = skip.metric_label(), "Not unboosting pod yet");
                continue;
            }
            if self.in_place_limiter.wait(Some(deadline)).await.is_err() {
                info!(
                    "In-place rate limiter wait would pass the loop deadline; stopping this loop"
                );
                report.rate_limited = true;
                return Flow::Stop;
            }
            info!(pod = %key, containers = ?candidate.expired, "Unboosting pod");
            match self.apply_unboost(&candidate).await {
                Ok(()) => {
                    vpa_plan.restriction.record_in_place(candidate.pod);
                    self.resized_in_place(size, &vpa_name, &vpa_namespace);
                    report.unboosted.push(key);
                }
                Err(error) => {
                    info!(pod = %key, %error, "Unboosting failed");
                    self.failed_in_place(size, &vpa_name, &vpa_namespace, "UnboostError");
                    report.failed_unboosts.push((key, error));
                }
            }
        }
        Flow::Continue
    }

    async fn apply_unboost(&self, candidate: &Unboost<'_>) -> Result<(), String> {
        let pod = candidate.pod;
        let key = PodKey::of(pod);
        let resizes = candidate.resizes.as_ref().map_err(ToString::to_string)?;
        let patch = inplace::resize_patch(pod, resizes);
        self.cluster
            .resize(&key, &patch)
            .await
            .map_err(|e| e.to_string())?;
        let annotate = unboost::annotation_patch(pod, &candidate.expired);
        if let Err(error) = self.cluster.patch_pod(&key, &annotate).await {
            warn!(pod = %key, %error, "Cannot update the annotations of an unboosted pod");
        }
        self.cluster
            .publish(UpdaterEvent {
                regarding: pod_reference(pod),
                reason: "InPlaceResizedByVPA".into(),
                note: "Pod was resized in place by VPA Updater.".into(),
                warning: false,
            })
            .await;
        Ok(())
    }
}
