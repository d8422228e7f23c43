//! Acting on one VPA's plan (edge): in-place resizes first (InPlaceOrRecreate, InPlace), then
//! evictions, each behind its rate limiter and a fresh disruption-budget check; events and
//! metrics. In `InPlace` mode nothing falls back to eviction: a failed resize only counts in
//! `failed_in_place_update_attempts_total`, and an infeasible one is retried and remembered.

use std::collections::HashSet;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Flow, LoopReport, Updater, key_of};
use crate::cluster_api::{ActionError, ClusterApi, UpdaterEvent, pod_reference, vpa_reference};
use crate::inplace::{self, InPlaceDecision};
use crate::metrics;
use crate::plan::{PodUpdate, VpaPlan};
use crate::pod::PodKey;
use crate::resize::InPlaceMode;
use crate::restriction::GroupKey;
use crate::time;

impl<C: ClusterApi> Updater<C> {
    pub(super) async fn execute(
        &mut self,
        mut vpa_plan: VpaPlan<'_>,
        deadline: Instant,
        report: &mut LoopReport,
    ) -> Flow {
        let size = metrics::size_log2(vpa_plan.pods.len());
        let mode = vpa_plan.mode.as_str().to_string();
        let vpa = vpa_plan.vpa;
        let vpa_name = vpa.metadata.name.clone().unwrap_or_default();
        let vpa_namespace = vpa.metadata.namespace.clone().unwrap_or_default();
        let size_mode = metrics::SizeMode {
            vpa_size_log2: size,
            update_mode: mode.clone(),
        };
        self.metrics
            .controlled_pods
            .get_or_create(&size_mode)
            .inc_by(vpa_plan.pods.len() as i64);
        if let Flow::Stop = self.unboost(&mut vpa_plan, deadline, report).await {
            return Flow::Stop;
        }
        if !vpa_plan.mode.updates_running_pods() {
            // Kept for its startup boost only.
            return Flow::Continue;
        }

        let mut to_evict: Vec<PodUpdate<'_>> = std::mem::take(&mut vpa_plan.evict);
        let in_place = std::mem::take(&mut vpa_plan.in_place);
        if let Some(in_place_mode) = InPlaceMode::of(vpa_plan.mode) {
            let size_only = metrics::Size {
                vpa_size_log2: size,
            };
            self.metrics
                .in_place_updatable_pods
                .get_or_create(&size_only)
                .inc_by(in_place.len() as i64);
            if !in_place.is_empty() {
                self.metrics
                    .vpas_with_in_place_updatable_pods
                    .get_or_create(&size_only)
                    .inc();
            }
            let mut resized_any = false;
            for update in in_place {
                let now = time::now();
                let decision = inplace::decide(
                    &vpa_plan.restriction,
                    update.pod,
                    in_place_mode,
                    true,
                    self.timers.resizing_for(update.pod, now),
                    self.config.restriction.in_place_skip_disruption_budget,
                );
                let key = PodKey::of(update.pod);
                match decision {
                    InPlaceDecision::Deferred(reason) => {
                        debug!(pod = %key, ?reason, "In-place update deferred");
                        continue;
                    }
                    InPlaceDecision::Evict => {
                        fall_back_to_eviction(&mut to_evict, update, "failed or timed out");
                        continue;
                    }
                    InPlaceDecision::Infeasible => {
                        info!(pod = %key, "In-place resize was infeasible; retrying with the current recommendation");
                        self.infeasible.record(update.pod, &update.recommendation);
                    }
                    InPlaceDecision::Approved => {}
                }
                if self.in_place_limiter.wait(Some(deadline)).await.is_err() {
                    info!(
                        "In-place rate limiter wait would pass the loop deadline; stopping this loop"
                    );
                    self.failed_in_place(
                        size,
                        &vpa_name,
                        &vpa_namespace,
                        "InPlaceUpdateRateLimiterWaitFailed",
                    );
                    report.rate_limited = true;
                    return Flow::Stop;
                }
                match self.resize(&update).await {
                    Ok(()) => {
                        vpa_plan.restriction.record_in_place(update.pod);
                        resized_any = true;
                        self.resized_in_place(size, &vpa_name, &vpa_namespace);
                        report.resized.push(key);
                    }
                    Err(error) => {
                        let reason = if in_place_mode == InPlaceMode::Only
                            && inplace::is_infeasible_error(&error)
                        {
                            self.infeasible.record(update.pod, &update.recommendation);
                            "InPlaceUpdateInfeasible"
                        } else {
                            "InPlaceUpdateError"
                        };
                        self.failed_in_place(size, &vpa_name, &vpa_namespace, reason);
                        report.failed_resizes.push((key.clone(), error.clone()));
                        match in_place_mode {
                            InPlaceMode::Only => {
                                info!(pod = %key, %error, reason, "In-place resize failed; InPlace mode never evicts");
                            }
                            InPlaceMode::OrRecreate => {
                                info!(pod = %key, %error, "In-place resize failed");
                                fall_back_to_eviction(&mut to_evict, update, "was refused");
                            }
                        }
                    }
                }
            }
            if resized_any {
                self.metrics
                    .vpas_with_in_place_updated_pods
                    .get_or_create(&metrics::Size {
                        vpa_size_log2: size,
                    })
                    .inc();
            }
        }

        self.metrics
            .evictable_pods
            .get_or_create(&size_mode)
            .inc_by(to_evict.len() as i64);
        if !to_evict.is_empty() {
            self.metrics
                .vpas_with_evictable_pods
                .get_or_create(&size_mode)
                .inc();
        }
        let mut throttled: HashSet<GroupKey> = HashSet::new();
        let mut evicted_any = false;
        for update in to_evict {
            let pod = update.pod;
            let key = PodKey::of(pod);
            let group = GroupKey::of(pod);
            if group.as_ref().is_some_and(|g| throttled.contains(g)) {
                debug!(pod = %key, "Replica group refused an eviction this loop; trying later");
                continue;
            }
            let resizing_for = self.timers.resizing_for(pod, time::now());
            if let Err(blocked) = vpa_plan.restriction.can_evict(pod, resizing_for) {
                debug!(pod = %key, reason = blocked.metric_label(), "Not evicting pod");
                continue;
            }
            if self.eviction_limiter.wait(Some(deadline)).await.is_err() {
                info!(
                    "Eviction rate limiter wait would pass the loop deadline; stopping this loop"
                );
                self.failed_eviction(
                    size,
                    &mode,
                    &vpa_name,
                    &vpa_namespace,
                    "EvictionRateLimiterWaitFailed",
                );
                report.rate_limited = true;
                return Flow::Stop;
            }
            info!(pod = %key, vpa = %key_of(vpa), "Evicting pod");
            match self.cluster.evict(&key).await {
                Ok(()) => {
                    vpa_plan.restriction.record_eviction(pod);
                    evicted_any = true;
                    self.metrics
                        .evicted_pods
                        .get_or_create(&metrics::Evicted {
                            vpa_size_log2: size,
                            update_mode: mode.clone(),
                            vpa_name: vpa_name.clone(),
                            vpa_namespace: vpa_namespace.clone(),
                        })
                        .inc();
                    self.record_eviction_events(vpa, pod).await;
                    report.evicted.push(key);
                }
                Err(ActionError::NotFound) => debug!(pod = %key, "Pod already gone"),
                Err(error) => {
                    if let ActionError::TooManyRequests(_) = &error {
                        info!(pod = %key, %error, "Eviction refused for now (disruption budget); retrying in a later loop");
                        throttled.extend(group);
                    } else {
                        warn!(pod = %key, %error, "Eviction failed");
                    }
                    self.failed_eviction(size, &mode, &vpa_name, &vpa_namespace, "EvictionError");
                    report.failed_evictions.push((key, error));
                }
            }
        }
        if evicted_any {
            self.metrics
                .vpas_with_evicted_pods
                .get_or_create(&size_mode)
                .inc();
        }
        Flow::Continue
    }

    async fn resize(&self, update: &PodUpdate<'_>) -> Result<(), ActionError> {
        let key = PodKey::of(update.pod);
        if update.resizes.is_empty() {
            return Err(ActionError::Api {
                code: 0,
                message: "no resource changes to apply in place".into(),
            });
        }
        let patch = inplace::resize_patch(update.pod, &update.resizes);
        info!(pod = %key, "Resizing pod in place");
        self.cluster.resize(&key, &patch).await?;
        let annotate = inplace::annotation_patch(update.pod);
        if let Err(error) = self.cluster.patch_pod(&key, &annotate).await {
            warn!(pod = %key, %error, "Cannot annotate resized pod");
        }
        self.cluster
            .publish(UpdaterEvent {
                regarding: pod_reference(update.pod),
                reason: "InPlaceResizedByVPA".into(),
                note: "Pod was resized in place by VPA Updater.".into(),
                warning: false,
            })
            .await;
        Ok(())
    }

    async fn record_eviction_events(
        &self,
        vpa: &vpa_common::api::VerticalPodAutoscaler,
        pod: &k8s_openapi::api::core::v1::Pod,
    ) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        self.cluster
            .publish(UpdaterEvent {
                regarding: pod_reference(pod),
                reason: "EvictedByVPA".into(),
                note: "Pod was evicted by VPA Updater to apply resource recommendation.".into(),
                warning: false,
            })
            .await;
        self.cluster
            .publish(UpdaterEvent {
                regarding: vpa_reference(vpa),
                reason: "EvictedPod".into(),
                note: format!("VPA Updater evicted Pod {name} to apply resource recommendation."),
                warning: false,
            })
            .await;
    }

    fn failed_eviction(&self, size: u32, mode: &str, name: &str, namespace: &str, reason: &str) {
        self.metrics
            .failed_eviction_attempts
            .get_or_create(&metrics::FailedEviction {
                vpa_size_log2: size,
                update_mode: mode.into(),
                reason: reason.into(),
                vpa_name: name.into(),
                vpa_namespace: namespace.into(),
            })
            .inc();
    }

    /// Counts a pod resized in place (an update or an unboost).
    pub(super) fn resized_in_place(&self, size: u32, name: &str, namespace: &str) {
        self.metrics
            .in_place_updated_pods
            .get_or_create(&metrics::InPlaceUpdated {
                vpa_size_log2: size,
                vpa_name: name.into(),
                vpa_namespace: namespace.into(),
            })
            .inc();
    }

    pub(super) fn failed_in_place(&self, size: u32, name: &str, namespace: &str, reason: &str) {
        self.metrics
            .failed_in_place_update_attempts
            .get_or_create(&metrics::FailedInPlace {
                vpa_size_log2: size,
                reason: reason.into(),
                vpa_name: name.into(),
                vpa_namespace: namespace.into(),
            })
            .inc();
    }
}

/// Queues a failed `InPlaceOrRecreate` resize for eviction, unless the VPA's eviction
/// requirements forbid evicting it (they gate evictions, not resizes: kubernetes/autoscaler#10219).
fn fall_back_to_eviction<'a>(to_evict: &mut Vec<PodUpdate<'a>>, update: PodUpdate<'a>, why: &str) {
    let pod = PodKey::of(update.pod);
    if update.eviction_allowed {
        info!(%pod, "In-place resize {why}; falling back to eviction");
        to_evict.push(update);
    } else {
        info!(%pod, "In-place resize {why}; the VPA's eviction requirements forbid evicting it");
    }
}
