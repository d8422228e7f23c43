//! Checkpoint writing and garbage collection, and aggregate garbage collection (edge; the
//! decisions are in [`crate::routines::checkpoints`] and the model, the requests in
//! [`crate::apiserver::checkpoints`]).

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Recommender;
use crate::apiserver::checkpoints::{delete, list_pages, write_all};
use crate::input::snapshot::Snapshot;
use crate::model::Timestamp;
use crate::routines::checkpoints::{self, CheckpointMeta, CheckpointOwner, CheckpointRef};
use crate::routines::plan::{self, PlanSummary};

impl Recommender {
    /// Writes checkpoints, least recently written VPAs first, `update_worker_count` VPAs at a
    /// time, until the time budget is spent (the first batch is always written). Returns how many
    /// VPAs had all their checkpoints written.
    pub(super) async fn write_checkpoints(
        &mut self,
        plans: &[PlanSummary],
        now: Timestamp,
    ) -> usize {
        let deadline = Instant::now() + self.config.checkpoints_timeout;
        let mut order: Vec<(String, String)> = plans
            .iter()
            .filter(|p| !p.aggregates.is_empty())
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect();
        order.sort_by_key(|key| self.checkpointed.get(key).copied().unwrap_or(i64::MIN));
        let by_key: HashMap<(String, String), usize> = plans
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.namespace.clone(), p.name.clone()), i))
            .collect();
        let live = self.cluster.containers_by_aggregate();
        let workers = self.config.update_worker_count.max(1);
        let mut running = FuturesUnordered::new();
        let (mut next, mut started, mut written) = (0, 0, 0);
        loop {
            // Keep `workers` VPAs in flight; after the deadline start no more, except that each
            // worker writes at least one VPA (as upstream's).
            while running.len() < workers
                && next < order.len()
                && (started < workers || Instant::now() < deadline)
            {
                let key = &order[next];
                next += 1;
                let Some(p) = by_key.get(key).map(|&i| &plans[i]) else {
                    continue;
                };
                started += 1;
                running.push(write_all(
                    self.client.clone(),
                    p.namespace.clone(),
                    p.name.clone(),
                    plan::checkpoints_of(p, &self.cluster, &live, now),
                    self.checkpointed.contains_key(key),
                ));
            }
            match running.next().await {
                Some(Some(key)) => {
                    self.checkpointed.insert(key, now);
                    written += 1;
                }
                Some(None) => {}
                None => break,
            }
        }
        if next < order.len() {
            debug!(left = order.len() - next, "Checkpoint budget spent");
        }
        written
    }

    pub(super) async fn collect_checkpoints(&mut self, plans: &[PlanSummary]) {
        let namespace = self.config.namespaces.only.as_deref();
        let mut listed: Vec<CheckpointOwner> = Vec::new();
        let keep =
            |page: Vec<CheckpointMeta>| listed.extend(page.iter().map(CheckpointOwner::from));
        match list_pages(&self.client, namespace, keep).await {
            Ok(_) => {}
            Err(error) => {
                warn!(%error, "Cannot list checkpoints for garbage collection");
                return;
            }
        };
        let mut all_vpas: HashSet<(String, String)> = HashSet::new();
        self.watches.vpas.for_each(|namespace, name, _| {
            all_vpas.insert((namespace.to_owned(), name.to_owned()));
        });
        let containers = plans
            .iter()
            .filter(|p| !p.aggregates.is_empty())
            .map(|p| {
                let names = p
                    .aggregates
                    .iter()
                    .map(|k| k.container.to_string())
                    .collect();
                ((p.namespace.clone(), p.name.clone()), names)
            })
            .collect();
        let stale: Vec<CheckpointRef> =
            checkpoints::stale_checkpoints(&listed, &all_vpas, &containers);
        for c in &stale {
            match delete(&self.client, &c.namespace, &c.name).await {
                Ok(()) => {
                    info!(namespace = %c.namespace, checkpoint = %c.name, "Deleted stale checkpoint")
                }
                Err(error) => {
                    warn!(namespace = %c.namespace, checkpoint = %c.name, %error, "Cannot delete checkpoint")
                }
            }
        }
        self.checkpointed.retain(|key, _| all_vpas.contains(key));
    }

    pub(super) fn garbage_collect(&mut self, snapshot: &Snapshot) {
        self.cluster
            .retain_containers(|id| snapshot.pods.contains(&id.namespace, &id.pod));
        let removed = self.cluster.garbage_collect(snapshot.now);
        if !removed.is_empty() {
            info!(removed = removed.len(), "Dropped expired aggregates");
        }
    }
}
