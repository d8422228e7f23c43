//! The update loop (edge): snapshot → plan → execute, every `--updater-interval`.
//!
//! Each loop first checks that the admission controller is alive (its status Lease), reads the
//! cluster through [`ClusterApi`], asks the pure [`plan`] what to do, then resizes and
//! evicts pods one by one through the rate limiters, re-checking the disruption budget before
//! each action. A 429 answer (PodDisruptionBudget or throttling) ends attempts on that replica
//! group for this loop, so a blocked workload costs one request per loop, not one per pod.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};
use vpa_common::api::UpdateMode;

use crate::cluster_api::{ActionError, ClusterApi};
use crate::config::UpdaterConfig;
use crate::infeasible::InfeasibleAttempts;
use crate::metrics::{Metrics, step};
use crate::plan::{self, PodHistory, VpaPlan, VpaSkip};
use crate::pod::PodKey;
use crate::ratelimit::Limiter;
use crate::resize::ResizeTimers;
use crate::snapshot::Snapshot;
use crate::time;
use vpa_common::admin::Health;

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
    /// Pods scaled back after their CPU startup boost, in order.
    pub unboosted: Vec<PodKey>,
    /// Pods whose boost could not be scaled back, and why (metric reason `UnboostError`).
    pub failed_unboosts: Vec<(PodKey, String)>,
    /// The rate limiter ran out of time before the loop's deadline.
    pub rate_limited: bool,
    /// Pods left alone, counted by reason label.
    pub pod_skips: BTreeMap<&'static str, usize>,
    /// Duration of each step that ran (see [`crate::metrics::step`]), in order.
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
    infeasible: InfeasibleAttempts,
    metrics: Arc<Metrics>,
    health: Health,
    warned_auto: HashSet<(String, String)>,
    warned_gate: HashSet<(String, String)>,
}

impl<C: ClusterApi> Updater<C> {
    /// An updater with fresh limiters and timers.
    pub fn new(cluster: C, config: UpdaterConfig, metrics: Arc<Metrics>, health: Health) -> Self {
        Self {
            eviction_limiter: Limiter::new(config.eviction_rate),
            in_place_limiter: Limiter::new(config.eviction_rate),
            cluster,
            config,
            timers: ResizeTimers::default(),
            infeasible: InfeasibleAttempts::default(),
            metrics,
            health,
            warned_auto: HashSet::new(),
            warned_gate: HashSet::new(),
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
        self.infeasible
            .observe(snapshot.pods.iter().map(|p| p.as_ref()));
        let history = PodHistory {
            timers: &self.timers,
            infeasible: &self.infeasible,
        };
        let planned = plan::plan(&snapshot, history, now, &self.config);
        self.observe(step::FILTER_PODS, step_start, &mut report);

        let step_start = Instant::now();
        self.metrics.reset_loop_gauges();
        for (vpa, skip) in &planned.skipped_vpas {
            if *skip == VpaSkip::InPlaceGateDisabled {
                self.warn_gate_once(vpa);
            }
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
                Ok(Some(l))
                    if vpa_common::status_lease::is_fresh(&l, time::now(), status.timeout) =>
                {
                    return Ok(());
                }
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
}

impl<C> Updater<C> {
    /// Warns once per VPA that its `InPlace` mode needs the updater's feature gate (upstream
    /// logs this every loop; once is enough to be found and avoids a line per VPA per minute).
    fn warn_gate_once(&mut self, vpa: &vpa_common::api::VerticalPodAutoscaler) {
        let key = (
            vpa.metadata.namespace.clone().unwrap_or_default(),
            vpa.metadata.name.clone().unwrap_or_default(),
        );
        if self.warned_gate.insert(key) {
            warn!(
                vpa = %key_of(vpa),
                feature_gate = "InPlace",
                "updateMode InPlace needs --feature-gates=InPlace=true; leaving its pods alone"
            );
        }
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
        unboosted = report.unboosted.len(),
        failed_unboosts = report.failed_unboosts.len(),
        rate_limited = report.rate_limited,
        skipped = ?report.pod_skips,
        "Updater loop finished"
    );
}

mod actions;
#[cfg(test)]
mod tests;
mod unboost;
