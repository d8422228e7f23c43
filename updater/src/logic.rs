//! The update loop (edge): snapshot → plan → execute, every `--updater-interval`.
//!
//! Each loop first checks that the admission controller is alive (its status Lease), reads the
//! cluster through [`Cluster`], asks the pure [`plan`](crate::plan) what to do, then resizes and
//! evicts pods one by one through the rate limiters, re-checking the disruption budget before
//! each action. A 429 answer (PodDisruptionBudget or throttling) ends attempts on that replica
//! group for this loop, so a blocked workload costs one request per loop, not one per pod.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};
use vpa_common::api::UpdateMode;

use crate::cluster::{ActionError, Cluster, UpdaterEvent, pod_reference, vpa_reference};
use crate::config::UpdaterConfig;
use crate::health::Health;
use crate::inplace::{self, InPlaceDecision, ResizeTimers};
use crate::lease;
use crate::metrics::{self, Metrics, step};
use crate::plan::{self, PodUpdate, VpaPlan};
use crate::pod::PodKey;
use crate::ratelimit::Limiter;
use crate::restriction::GroupKey;
use crate::snapshot::Snapshot;
use crate::time;

/// Why a whole loop did nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopSkip {
    /// The admission controller's status Lease is missing or stale.
    AdmissionControllerNotRunning,
    /// The Lease could not be read.
    LeaseUnreadable(String),
    /// The cluster state could not be read.
    ListFailed(String),
}

/// What one loop did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoopReport {
    /// Set when the loop stopped before planning.
    pub skipped: Option<LoopSkip>,
    /// Pods evicted, in order.
    pub evicted: Vec<PodKey>,
    /// Pods resized in place, in order.
    pub resized: Vec<PodKey>,
    /// Evictions the API refused.
    pub failed_evictions: Vec<(PodKey, ActionError)>,
    /// Resizes the API refused.
    pub failed_resizes: Vec<(PodKey, ActionError)>,
    /// The rate limiter ran out of time before the loop's deadline.
    pub rate_limited: bool,
    /// Pods left alone, counted by reason label.
    pub pod_skips: BTreeMap<&'static str, usize>,
    /// Duration of each step that ran (see [`metrics::step`]), in order.
    pub steps: Vec<(&'static str, Duration)>,
}

enum Flow {
    Continue,
    Stop,
}

/// The updater: cluster access, limiters and state kept across loops.
pub struct Updater<C> {
    cluster: C,
    config: UpdaterConfig,
    eviction_limiter: Limiter,
    in_place_limiter: Limiter,
    timers: ResizeTimers,
    metrics: Arc<Metrics>,
    health: Health,
    warned_auto: HashSet<(String, String)>,
}

impl<C: Cluster> Updater<C> {
    /// An updater with fresh limiters and timers.
    pub fn new(cluster: C, config: UpdaterConfig, metrics: Arc<Metrics>, health: Health) -> Self {
        Self {
            eviction_limiter: Limiter::new(config.eviction_rate),
            in_place_limiter: Limiter::new(config.eviction_rate),
            cluster,
            config,
            timers: ResizeTimers::default(),
            metrics,
            health,
            warned_auto: HashSet::new(),
        }
    }

    /// The cluster this updater acts on.
    pub fn cluster(&self) -> &C {
        &self.cluster
    }

    /// Runs a loop every interval (the first one interval after start, as upstream) until
    /// `shutdown` completes; a loop in progress is dropped at its next await point.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticker =
            tokio::time::interval_at(Instant::now() + self.config.interval, self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                _ = &mut shutdown => break,
                report = self.run_once() => log_report(&report),
            }
        }
        info!("Updater loop stopped");
    }

    /// One loop: check the admission controller, read, plan, act.
    #[instrument(skip_all)]
    pub async fn run_once(&mut self) -> LoopReport {
        let started = Instant::now();
        self.health.mark(started);
        let deadline = started + self.config.interval;
        let mut report = LoopReport::default();
        if let Err(skip) = self.check_admission_controller().await {
            report.skipped = Some(skip);
            return report;
        }
        let snapshot = match self.snapshot(&mut report).await {
            Ok(s) => s,
            Err(e) => {
                report.skipped = Some(LoopSkip::ListFailed(e));
                return report;
            }
        };
        let now = time::now();
        let step_start = Instant::now();
        self.timers
            .observe(snapshot.pods.iter().map(|p| p.as_ref()), now);
        let planned = plan::plan(&snapshot, &self.timers, now, &self.config);
        self.observe(step::FILTER_PODS, step_start, &mut report);

        let step_start = Instant::now();
        self.metrics.reset_loop_gauges();
        for (vpa, skip) in &planned.skipped_vpas {
            debug!(vpa = %key_of(vpa), ?skip, "Skipping VPA");
        }
        for (pod, error) in &planned.owner_errors {
            debug!(%pod, %error, "Cannot resolve the controller of a pod");
        }
        let mut stopped = false;
        for vpa_plan in planned.vpas {
            if stopped {
                break;
            }
            self.warn_auto_once(&vpa_plan);
            for (pod, skip) in &vpa_plan.skipped {
                debug!(%pod, ?skip, "Not updating pod");
                *report.pod_skips.entry(skip.metric_label()).or_default() += 1;
            }
            if let Flow::Stop = self.execute(vpa_plan, deadline, &mut report).await {
                stopped = true;
            }
        }
        self.observe(step::EVICT_PODS, step_start, &mut report);
        self.observe(step::TOTAL, started, &mut report);
        report
    }

    fn observe(&self, name: &'static str, since: Instant, report: &mut LoopReport) {
        let took = since.elapsed();
        self.metrics.observe_step(name, took.as_secs_f64());
        report.steps.push((name, took));
    }

    async fn check_admission_controller(&self) -> Result<(), LoopSkip> {
        let status = &self.config.admission;
        if !status.enabled {
            return Ok(());
        }
        let mut delay = Duration::from_millis(100);
        let mut last_error = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            match self
                .cluster
                .lease(&status.lease_namespace, &status.lease_name)
                .await
            {
                Ok(Some(l)) if lease::is_fresh(&l, time::now(), status.timeout) => return Ok(()),
                Ok(_) => {
                    warn!(
                        namespace = %status.lease_namespace,
                        lease = %status.lease_name,
                        "Admission controller status is stale or missing; skipping this loop"
                    );
                    return Err(LoopSkip::AdmissionControllerNotRunning);
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        warn!(error = %last_error, "Cannot read the admission controller status; skipping this loop");
        Err(LoopSkip::LeaseUnreadable(last_error))
    }

    async fn snapshot(&self, report: &mut LoopReport) -> Result<Snapshot, String> {
        let t = Instant::now();
        let vpas = self.cluster.list_vpas().await.map_err(|e| e.to_string())?;
        self.observe(step::LIST_VPAS, t, report);
        let t = Instant::now();
        let pods = self.cluster.list_pods().await.map_err(|e| e.to_string())?;
        self.observe(step::LIST_PODS, t, report);
        let t = Instant::now();
        let limit_ranges = self
            .cluster
            .list_limit_ranges()
            .await
            .map_err(|e| e.to_string())?;
        let controllers = self
            .cluster
            .controllers()
            .await
            .map_err(|e| e.to_string())?;
        self.observe(step::ADMISSION_INIT, t, report);
        Ok(Snapshot {
            vpas,
            pods,
            limit_ranges,
            controllers,
        })
    }

    fn warn_auto_once(&mut self, vpa_plan: &VpaPlan<'_>) {
        if vpa_plan.mode == UpdateMode::Auto {
            let key = (
                vpa_plan.vpa.metadata.namespace.clone().unwrap_or_default(),
                vpa_plan.vpa.metadata.name.clone().unwrap_or_default(),
            );
            if self.warned_auto.insert(key) {
                warn!(vpa = %key_of(vpa_plan.vpa), "updateMode Auto is deprecated and behaves as Recreate");
            }
        }
    }

    async fn execute(
        &self,
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

        let mut to_evict: Vec<PodUpdate<'_>> = std::mem::take(&mut vpa_plan.evict);
        let in_place = std::mem::take(&mut vpa_plan.in_place);
        if vpa_plan.mode == UpdateMode::InPlaceOrRecreate {
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
                        info!(pod = %key, "In-place resize failed or timed out; falling back to eviction");
                        to_evict.push(update);
                        continue;
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
                        self.metrics
                            .in_place_updated_pods
                            .get_or_create(&metrics::InPlaceUpdated {
                                vpa_size_log2: size,
                                vpa_name: vpa_name.clone(),
                                vpa_namespace: vpa_namespace.clone(),
                            })
                            .inc();
                        report.resized.push(key);
                    }
                    Err(error) => {
                        info!(pod = %key, %error, "In-place resize failed; falling back to eviction");
                        self.failed_in_place(size, &vpa_name, &vpa_namespace, "InPlaceUpdateError");
                        report.failed_resizes.push((key, error));
                        to_evict.push(update);
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

    fn failed_in_place(&self, size: u32, name: &str, namespace: &str, reason: &str) {
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

fn key_of(vpa: &vpa_common::api::VerticalPodAutoscaler) -> String {
    format!(
        "{}/{}",
        vpa.metadata.namespace.as_deref().unwrap_or_default(),
        vpa.metadata.name.as_deref().unwrap_or_default()
    )
}

fn log_report(report: &LoopReport) {
    if let Some(skip) = &report.skipped {
        debug!(?skip, "Loop skipped");
        return;
    }
    info!(
        evicted = report.evicted.len(),
        resized = report.resized.len(),
        failed_evictions = report.failed_evictions.len(),
        failed_resizes = report.failed_resizes.len(),
        rate_limited = report.rate_limited,
        skipped = ?report.pod_skips,
        "Updater loop finished"
    );
}

#[cfg(test)]
mod tests;
