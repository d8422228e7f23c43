//! The recommender loop (edge): every interval, snapshot the watch caches, feed live usage and
//! OOM kills into the model, plan every VPA, patch the statuses that changed, write checkpoints
//! within their time budget, and garbage-collect. Decisions are made by the pure
//! [`super::plan`], [`super::feed`] and [`super::checkpoints`], and the requests are
//! [`crate::apiserver`]'s; this file only sequences calls ([`usage`] feeds the model, [`output`]
//! writes statuses, [`maintenance`] checkpoints and garbage collection).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use kube::Client;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, instrument, warn};

use vpa_common::api::VerticalPodAutoscalerCheckpoint;

use super::checkpoints;
use super::feed::WorkloadFilter;
use super::history::HistoryLoad;
use super::plan::{self, PlanContext, PlanIndex, PlanSummary, VpaPlan};
use super::quality::{self, RecommendationMemory};
use crate::checkpoint;
use crate::input::oom::OomEvent;
use crate::input::snapshot::{self, Snapshot};
use crate::input::watches::Watches;
use crate::logic::PodResourceRecommender;
use crate::model::{ClusterState, Timestamp};
use crate::service::config::ServiceConfig;
use crate::service::metrics::{LoopObservations, Metrics, step};
use vpa_common::admin::Health;
use vpa_common::scale::ScaleCache;

/// Usage samples fed at a time.
pub const FEED_CHUNK: usize = 1000;

/// VPAs planned and written at a time: large enough that status writes stay pipelined
/// (`--update-worker-count` in flight), small enough that a chunk's plans cost little memory.
pub const PLAN_CHUNK: usize = 500;

mod laps;
mod maintenance;
mod output;
mod settings;
mod usage;

use laps::Laps;

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
    /// VPAs whose per-VPA settings are ignored (gate `PerVPAConfig` off), warned about once.
    ignoring_per_vpa: HashSet<(String, String)>,
    /// The last loop's uncapped targets, for the `vpa_quality_*` metrics.
    quality: RecommendationMemory,
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
            cluster: ClusterState::new(config.aggregations),
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
            ignoring_per_vpa: HashSet::new(),
            quality: RecommendationMemory::default(),
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
        let controllers = self.watches.controllers.snapshot(&self.scales);
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
        let listed = crate::apiserver::checkpoints::list_pages(
            &client,
            namespace.as_deref(),
            |page: Vec<VerticalPodAutoscalerCheckpoint>| {
                restored += self.restore_from(&page, &snapshot);
            },
        )
        .await?;
        let weight = self.cluster.history_weight();
        info!(
            restored,
            listed,
            awaiting_target = self.pending_restore.len(),
            cpu_weight = weight.cpu,
            memory_weight = weight.memory,
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
                    namespace = %object.metadata.namespace.as_deref().unwrap_or_default(),
                    checkpoint = %object.metadata.name.as_deref().unwrap_or_default(),
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
        self.apply_per_vpa_config(&snapshot);
        laps.lap(&self.metrics, step::LOAD_VPAS);
        let filter = if self.config.memory_saver {
            WorkloadFilter::targets_of(&snapshot)
        } else {
            WorkloadFilter::all()
        };
        laps.lap(&self.metrics, step::LOAD_PODS);

        self.feed(&snapshot, &filter).await;
        laps.lap(&self.metrics, step::LOAD_METRICS);

        let (plans, statuses_written, quality) = self.update_vpas(&snapshot).await;
        self.quality = quality;
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
        // The history behind the VPAs' recommendations: what their checkpoints hold.
        let weight = self
            .cluster
            .history_weight_of(plans.iter().flat_map(|p| &p.aggregates));
        info!(
            vpas = plans.len(),
            statuses_written,
            checkpoints_written,
            aggregates = self.cluster.aggregates().len(),
            vpa_cpu_weight = weight.cpu,
            vpa_memory_weight = weight.memory,
            elapsed_ms = started.elapsed().as_millis() as u64,
            steps = %laps,
            "Loop done"
        );
    }

    /// Plans every VPA and writes the statuses that changed, [`PLAN_CHUNK`] VPAs at a time: each
    /// chunk's plans (statuses and recommendation maps, kilobytes per VPA) are dropped once
    /// written and observed, leaving a [`PlanSummary`] per VPA for the rest of the loop. Returns
    /// the summaries, how many statuses were written, and the recommendations the quality metrics
    /// compare the next loop's samples with.
    async fn update_vpas(
        &self,
        snapshot: &Snapshot,
    ) -> (Vec<PlanSummary>, usize, RecommendationMemory) {
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
        let mut memory = RecommendationMemory::default();
        for chunk in snapshot.vpas.chunks(PLAN_CHUNK) {
            let plans: Vec<VpaPlan> = chunk
                .iter()
                .map(|vpa| plan::plan_vpa(vpa, &index, ctx, snapshot.now))
                .collect();
            written += self.write_statuses(&plans).await;
            self.observe(&plans, chunk, snapshot.now, &mut observed);
            for (plan, vpa) in plans.iter().zip(chunk) {
                for change in quality::changes(&self.quality, plan, &vpa.vpa) {
                    self.metrics.quality.observe_change(&change);
                }
                memory.remember(plan);
            }
            summaries.extend(plans.into_iter().map(PlanSummary::from));
        }
        self.metrics.publish(observed);
        (summaries, written, memory)
    }
}
