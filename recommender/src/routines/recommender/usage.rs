//! What the loop feeds the model each interval (edge): live usage from the PodMetrics list, fed
//! while the list arrives, and the OOM kills received since the last loop. The feeding itself is
//! [`crate::routines::feed`]'s.

use tracing::{debug, info, warn};

use super::{FEED_CHUNK, Recommender};
use crate::apiserver::raw::get_chunks;
use crate::input::list_items::ListItems;
use crate::input::metrics::{PodMetrics, list_path, usage_samples};
use crate::input::snapshot::Snapshot;
use crate::routines::feed::{self, WorkloadFilter};
use crate::routines::quality::QualityTargets;

impl Recommender {
    /// Lists PodMetrics and feeds their usage while the list arrives, then the OOM kills
    /// received since the last loop. Each PodMetrics is decoded on its own as soon as its text is
    /// complete and the samples are fed [`FEED_CHUNK`] at a time, so neither the list (12.5 MiB
    /// at 50k pods) nor all samples exist at once. A PodMetrics that cannot be decoded is skipped;
    /// a failed list leaves this loop without usage (logged), keeping what arrived before the failure.
    pub(super) async fn feed(&mut self, snapshot: &Snapshot, filter: &WorkloadFilter) {
        self.cluster
            .reserve_instances(snapshot.pods.values().map(|p| p.containers.len()).sum());
        let path = list_path(self.config.namespaces.only.as_deref());
        let mut stats = feed::FeedStats::default();
        let mut usage = Vec::with_capacity(FEED_CHUNK);
        let mut items = ListItems::new();
        let mut undecodable = 0;
        let mut first_error = None;
        let cluster = &mut self.cluster;
        let targets = QualityTargets::new(snapshot, &self.quality);
        let (targets, metrics) = (&targets, &self.metrics);
        let mut flush = |usage: &mut Vec<_>| {
            let chunk = feed::feed_usage(cluster, snapshot, filter, usage, targets, &mut |q| {
                metrics.quality.observe_sample(q)
            });
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
        self.metrics.clients.metric_server_response(listed.is_err());
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
            let metrics = &self.metrics;
            let stats = feed::feed_ooms(
                &mut self.cluster,
                snapshot,
                filter,
                &ooms,
                &QualityTargets::new(snapshot, &self.quality),
                &mut |q| metrics.quality.observe_sample(q),
            );
            info!(
                recorded = stats.accepted,
                skipped = stats.skipped,
                "Recorded OOM kills"
            );
        }
    }
}
