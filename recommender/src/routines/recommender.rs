//! The recommender loop (edge): every interval, snapshot the watch caches, feed live usage and
//! OOM kills into the model, plan every VPA, patch the statuses that changed, write checkpoints
//! within their time budget, and garbage-collect. Decisions are made by the pure
//! [`super::plan`], [`super::feed`] and [`super::checkpoints`]; this file only sequences calls.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use kube::Client;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};

use super::checkpoints;
use super::feed::{self, WorkloadFilter};
use super::history::HistoryLoad;
use super::plan::{self, PlanContext, PlanIndex, PlanSummary, VpaPlan};
use crate::checkpoint;
use crate::input::list_items::ListItems;
use crate::input::metrics::{PodMetrics, list_path, usage_samples};
use crate::routines::raw_request::get_chunks;
use vpa_common::api::VerticalPodAutoscalerCheckpoint;

use crate::input::oom::OomEvent;
use crate::input::scale::ScaleCache;
use crate::input::snapshot::{self, Snapshot};
use crate::input::watches::Watches;
use crate::logic::PodResourceRecommender;
use crate::model::{ClusterState, Timestamp};
use crate::service::admin::Health;
use crate::service::config::ServiceConfig;
use crate::service::metrics::{LoopObservations, Metrics, step};

/// Usage samples fed at a time.
pub const FEED_CHUNK: usize = 1000;

/// VPAs planned and written at a time: large enough that status writes stay pipelined
/// (`--update-worker-count` in flight), small enough that a chunk's plans cost little memory.
pub const PLAN_CHUNK: usize = 500;

mod maintenance;
mod output;

/// The running recommender: caches, model and bookkeeping.
pub struct Recommender {
    client: Client,
    config: ServiceConfig,
    watches: Watches,
    scales: ScaleCache,
    ooms: mpsc::Receiver<OomEvent>,
    cluster: ClusterState,
    engine: PodResourceRecommender,
    metrics: Arc<Metrics>,
    health: Health,
    /// Last successful checkpoint write per VPA (namespace, name), Unix seconds: ours, or the
    /// oldest `lastUpdateTime` of its restored checkpoints. A VPA here has checkpoint objects.
    checkpointed: HashMap<(String, String), Timestamp>,
    last_checkpoint_gc: Option<Instant>,
    last_aggregate_gc: Instant,
    /// Set while Prometheus history loads: what is being fetched.
    fetching_history: Option<String>,
    history: Option<HistoryLoad>,
    /// Checkpoints of VPAs whose target did not resolve yet, restored once it does.
    pending_restore: Vec<VerticalPodAutoscalerCheckpoint>,
    /// Since when each VPA has had no recommendation (or since its last warning).
    missing_since: HashMap<(String, String), Instant>,
}

fn unix_now() -> Timestamp {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

impl Drop for Recommender {
    /// A history load still running stops with the recommender.
    fn drop(&mut self) {
        if let Some(load) = &self.history {
            load.abort();
        }
    }
}

/// Times consecutive loop steps, for the metrics and the loop's log line.
struct Laps {
    last: Instant,
    steps: Vec<(&'static str, std::time::Duration)>,
}

impl Laps {
    fn new(started: Instant) -> Self {
        Self {
            last: started,
            steps: Vec::with_capacity(6),
        }
    }

    fn lap(&mut self, metrics: &Metrics, step: &'static str) {
        let now = Instant::now();
        let took = now.duration_since(self.last);
        metrics.observe_step(step, took.as_secs_f64());
        self.steps.push((step, took));
        self.last = now;
    }
}

/// `LoadVPAs=12ms LoadPods=0ms ...`: the steps in order, in whole milliseconds.
impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, took)) in self.steps.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{step}={}ms", took.as_millis())?;
        }
        Ok(())
    }
}

impl Recommender {
    /// A recommender over started watches; OOM kills arrive on `ooms`.
    pub fn new(
        client: Client,
        config: ServiceConfig,
        watches: Watches,
        ooms: mpsc::Receiver<OomEvent>,
        metrics: Arc<Metrics>,
        health: Health,
    ) -> Self {
        Self {
            engine: PodResourceRecommender::new(&config.estimation),
            cluster: ClusterState::new(config.aggregations.clone()),
            scales: ScaleCache::new(client.clone()),
            client,
            config,
            watches,
            ooms,
            metrics,
            health,
            checkpointed: HashMap::new(),
            last_checkpoint_gc: None,
            last_aggregate_gc: Instant::now(),
            fetching_history: None,
            history: None,
            missing_since: HashMap::new(),
            pending_restore: Vec::new(),
        }
    }

    /// Hands over a history load running in the background; until it finishes, VPAs carry the
    /// `FetchingHistory` condition with `description`, and no checkpoints are written.
    pub fn set_history_load(&mut self, load: HistoryLoad, description: String) {
        self.fetching_history = Some(description);
        self.history = Some(load);
    }

    async fn merge_finished_history(&mut self) {
        if !self.history.as_ref().is_some_and(|h| h.is_finished()) {
            return;
        }
        let Some(load) = self.history.take() else {
            return;
        };
        self.fetching_history = None;
        match load.await {
            Ok(Ok((loaded, stats))) => {
                for (key, state) in loaded.aggregates() {
                    self.cluster.restore(key.clone(), state);
                }
                info!(
                    queries = stats.queries,
                    samples = stats.samples,
                    aggregates = loaded.aggregates().len(),
                    "Loaded history from Prometheus"
                );
            }
            Ok(Err(error)) => {
                warn!(%error, "Cannot load history from Prometheus; continuing without")
            }
            Err(error) => warn!(%error, "History load task failed; continuing without"),
        }
    }

    /// The model's aggregation settings.
    pub fn aggregations(&self) -> &crate::model::AggregationsConfig {
        &self.config.aggregations
    }

    /// Refreshes the scale-subresource selectors of targets outside the well-known kinds, then
    /// takes a snapshot of the caches.
    pub async fn snapshot(&mut self) -> Snapshot {
        let vpas = self.watches.vpas.state();
        self.scales
            .refresh(vpas.iter().map(|v| v.vpa.clone()).collect())
            .await;
        let mut controllers = self.watches.controllers();
        for (namespace, kind, name, selector) in self.scales.answers() {
            controllers.insert_scale(namespace, kind, name, selector.clone());
        }
        snapshot::build(
            unix_now(),
            &vpas,
            &self.watches.pods.state(),
            &controllers,
            &self.config.recommender_name,
            &self.config.namespaces,
        )
    }

    /// Restores the model from the checkpoints of handled VPAs (ours or upstream's). Unreadable
    /// checkpoints are skipped with a warning; a failed list is retried by the caller's choice.
    #[instrument(skip_all)]
    pub async fn restore_checkpoints(&mut self) -> Result<usize, kube::Error> {
        let snapshot = self.snapshot().await;
        let client = self.client.clone();
        let namespace = self.config.namespaces.only.clone();
        self.pending_restore.clear();
        let mut restored = 0;
        let listed = checkpoints::list_pages(
            &client,
            namespace.as_deref(),
            |page: Vec<VerticalPodAutoscalerCheckpoint>| {
                restored += self.restore_from(&page, &snapshot);
            },
        )
        .await?;
        info!(
            restored,
            listed,
            awaiting_target = self.pending_restore.len(),
            "Restored checkpoints"
        );
        Ok(restored)
    }

    /// Restores the checkpoints whose VPA target resolves in `snapshot`; adds those of VPAs
    /// whose target does not resolve yet to the ones kept for a later loop.
    fn restore_from(
        &mut self,
        objects: &[VerticalPodAutoscalerCheckpoint],
        snapshot: &Snapshot,
    ) -> usize {
        let mut restored = 0;
        for (key, object) in checkpoints::restore_targets(objects, snapshot) {
            let Some(status) = &object.status else {
                continue;
            };
            match checkpoint::load(status, &self.config.aggregations, snapshot.now) {
                Ok(state) => {
                    let written = status
                        .last_update_time
                        .as_ref()
                        .map_or(Timestamp::MIN, |t| t.0.as_second());
                    let vpa = object.spec.vpa_object_name.clone().unwrap_or_default();
                    self.checkpointed
                        .entry((key.namespace.to_string(), vpa))
                        .and_modify(|at| *at = (*at).min(written))
                        .or_insert(written);
                    self.cluster.restore(key, &state);
                    restored += 1;
                }
                Err(error) => warn!(
                    namespace = object.metadata.namespace.as_deref().unwrap_or_default(),
                    checkpoint = object.metadata.name.as_deref().unwrap_or_default(),
                    %error,
                    "Skipping unreadable checkpoint"
                ),
            }
        }
        self.pending_restore.extend(
            checkpoints::awaiting_target(objects, snapshot)
                .into_iter()
                .cloned(),
        );
        restored
    }

    /// Runs loops every interval until `stop` resolves.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        self.health.mark(Instant::now());
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = ticker.tick() => self.run_once().await,
            }
        }
    }

    /// One loop.
    #[instrument(skip_all)]
    pub async fn run_once(&mut self) {
        self.merge_finished_history().await;
        let started = Instant::now();
        let mut laps = Laps::new(started);

        let snapshot = self.snapshot().await;
        if !self.pending_restore.is_empty() {
            let pending = std::mem::take(&mut self.pending_restore);
            let restored = self.restore_from(&pending, &snapshot);
            if restored > 0 {
                info!(
                    restored,
                    "Restored checkpoints of VPAs whose target resolved"
                );
            }
        }
        laps.lap(&self.metrics, step::LOAD_VPAS);
        let filter = if self.config.memory_saver {
            WorkloadFilter::targets_of(&snapshot)
        } else {
            WorkloadFilter::all()
        };
        laps.lap(&self.metrics, step::LOAD_PODS);

        self.feed(&snapshot, &filter).await;
        laps.lap(&self.metrics, step::LOAD_METRICS);

        let (plans, statuses_written) = self.update_vpas(&snapshot).await;
        self.warn_missing(&plans);
        laps.lap(&self.metrics, step::UPDATE_VPAS);
        // The snapshot's pod index (10 MiB at 50k pods) is needed after this only by the
        // aggregate garbage collection, which is due once an hour.
        let now = snapshot.now;
        let collect_aggregates =
            self.last_aggregate_gc.elapsed() >= self.config.aggregate_gc_interval;
        let snapshot = collect_aggregates.then_some(snapshot);

        let mut checkpoints_written = 0;
        if self.fetching_history.is_none()
            && matches!(
                self.config.storage,
                crate::service::config::Storage::Checkpoints
            )
        {
            checkpoints_written = self.write_checkpoints(&plans, now).await;
            if self
                .last_checkpoint_gc
                .is_none_or(|t| t.elapsed() >= self.config.checkpoints_gc_interval)
            {
                self.last_checkpoint_gc = Some(Instant::now());
                self.collect_checkpoints(&plans).await;
            }
        }
        laps.lap(&self.metrics, step::MAINTAIN_CHECKPOINTS);

        if let Some(snapshot) = snapshot {
            self.last_aggregate_gc = Instant::now();
            self.garbage_collect(&snapshot);
        }
        laps.lap(&self.metrics, step::GARBAGE_COLLECT);

        self.metrics
            .aggregate_container_states
            .set(self.cluster.aggregates().len() as i64);
        self.metrics
            .observe_step(step::TOTAL, started.elapsed().as_secs_f64());
        self.metrics
            .last_loop_timestamp
            .set(k8s_openapi::jiff::Timestamp::now().as_millisecond() as f64 / 1000.0);
        self.health.mark(Instant::now());
        info!(
            vpas = plans.len(),
            statuses_written,
            checkpoints_written,
            aggregates = self.cluster.aggregates().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            steps = %laps,
            "Loop done"
        );
    }

    /// Plans every VPA and writes the statuses that changed, [`PLAN_CHUNK`] VPAs at a time: each
    /// chunk's plans (statuses and recommendation maps, kilobytes per VPA) are dropped once
    /// written and observed, leaving a [`PlanSummary`] per VPA for the rest of the loop. Returns
    /// the summaries and how many statuses were written.
    async fn update_vpas(&self, snapshot: &Snapshot) -> (Vec<PlanSummary>, usize) {
        let ctx = PlanContext {
            recommender: &self.engine,
            output: &self.config.output,
            confidence_interval: self.config.estimation.confidence_interval_cpu,
            fetching_history: self.fetching_history.as_deref(),
        };
        let index = PlanIndex::new(snapshot, &self.cluster);
        let mut summaries = Vec::with_capacity(snapshot.vpas.len());
        let mut observed = LoopObservations::with_rows(self.metrics.recommendation.row_count());
        let mut written = 0;
        for chunk in snapshot.vpas.chunks(PLAN_CHUNK) {
            let plans: Vec<VpaPlan> = chunk
                .iter()
                .map(|vpa| plan::plan_vpa(vpa, &index, ctx, snapshot.now))
                .collect();
            written += self.write_statuses(&plans).await;
            self.observe(&plans, chunk, snapshot.now, &mut observed);
            summaries.extend(plans.into_iter().map(PlanSummary::from));
        }
        self.metrics.publish(observed);
        (summaries, written)
    }

    /// Lists PodMetrics and feeds their usage while the list arrives, then the OOM kills
    /// received since the last loop. Each PodMetrics is decoded on its own as soon as its text is
    /// complete and the samples are fed [`FEED_CHUNK`] at a time, so neither the list (12.5 MiB
    /// at 50k pods) nor all samples exist at once. A PodMetrics that cannot be decoded is skipped;
    /// a failed list leaves this loop without usage (logged), keeping what arrived before the failure.
    async fn feed(&mut self, snapshot: &Snapshot, filter: &WorkloadFilter) {
        self.cluster
            .reserve_instances(snapshot.pods.values().map(|p| p.containers.len()).sum());
        let path = list_path(self.config.namespaces.only.as_deref());
        let mut stats = feed::FeedStats::default();
        let mut usage = Vec::with_capacity(FEED_CHUNK);
        let mut items = ListItems::new();
        let mut undecodable = 0;
        let mut first_error = None;
        let cluster = &mut self.cluster;
        let mut flush = |usage: &mut Vec<_>| {
            let chunk = feed::feed_usage(cluster, snapshot, filter, usage);
            stats.accepted += chunk.accepted;
            stats.skipped += chunk.skipped;
            usage.clear();
        };
        let listed = get_chunks(&self.client, &path, |chunk| {
            items.push(chunk, |item| {
                match serde_json::from_slice::<PodMetrics>(item) {
                    Ok(metrics) => usage.extend(usage_samples(&metrics)),
                    Err(error) => {
                        undecodable += 1;
                        first_error.get_or_insert(error);
                    }
                }
                if usage.len() >= FEED_CHUNK {
                    flush(&mut usage);
                }
            })
        })
        .await;
        flush(&mut usage);
        if let Some(error) = first_error {
            warn!(%error, skipped = undecodable, "Skipping PodMetrics that cannot be decoded");
        }
        match listed
            .map_err(|e| e.to_string())
            .and_then(|()| items.finish())
        {
            Ok(pods) => debug!(
                pods,
                accepted = stats.accepted,
                skipped = stats.skipped,
                "Fed usage"
            ),
            Err(error) if stats.accepted == 0 => {
                warn!(%error, "Cannot list PodMetrics; no usage this loop")
            }
            Err(error) => warn!(
                %error,
                accepted = stats.accepted,
                "The PodMetrics list was cut short; fed the usage that arrived"
            ),
        }
        let mut ooms = Vec::new();
        while let Ok(oom) = self.ooms.try_recv() {
            ooms.push(oom);
        }
        if !ooms.is_empty() {
            let stats = feed::feed_ooms(&mut self.cluster, snapshot, filter, &ooms);
            info!(
                recorded = stats.accepted,
                skipped = stats.skipped,
                "Recorded OOM kills"
            );
        }
    }
}
