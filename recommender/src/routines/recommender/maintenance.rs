//! Checkpoint writing and garbage collection, and aggregate garbage collection (edge; the
//! decisions are in [`crate::routines::checkpoints`] and the model).

use std::collections::{HashMap, HashSet};

use kube::Client;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use vpa_common::api::VerticalPodAutoscalerCheckpoint;

use super::Recommender;
use crate::input::snapshot::Snapshot;
use crate::model::Timestamp;
use crate::routines::checkpoints::{self, CheckpointRef};
use crate::routines::plan::{self, VpaPlan};

/// Writes one VPA's checkpoints; returns the VPA when all were written (none given: skipped).
async fn write_vpa_checkpoints(
    client: Client,
    namespace: String,
    name: String,
    objects: Vec<VerticalPodAutoscalerCheckpoint>,
) -> Option<(String, String)> {
    if objects.is_empty() {
        return None;
    }
    for object in &objects {
        if let Err(error) = checkpoints::write(&client, object).await {
            warn!(%namespace, vpa = %name, %error, "Cannot write checkpoint");
            return None;
        }
    }
    Some((namespace, name))
}

impl Recommender {
    /// Writes checkpoints, least recently written VPAs first, `update_worker_count` VPAs at a
    /// time, until the time budget is spent (the first batch is always written). Returns how many
    /// VPAs had all their checkpoints written.
    pub(super) async fn write_checkpoints(&mut self, plans: &[VpaPlan], now: Timestamp) -> usize {
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
        let mut written = 0;
        for (batch_index, batch) in order.chunks(self.config.update_worker_count).enumerate() {
            if batch_index > 0 && Instant::now() >= deadline {
                debug!(
                    left = order.len() - batch_index * batch.len(),
                    "Checkpoint budget spent"
                );
                break;
            }
            let writes: Vec<_> = batch
                .iter()
                .filter_map(|key| by_key.get(key).map(|&i| &plans[i]))
                .map(|p| {
                    write_vpa_checkpoints(
                        self.client.clone(),
                        p.namespace.clone(),
                        p.name.clone(),
                        plan::checkpoints_of(p, &self.cluster, &live, now),
                    )
                })
                .collect();
            for key in futures::future::join_all(writes)
                .await
                .into_iter()
                .flatten()
            {
                self.checkpointed.insert(key, now);
                written += 1;
            }
        }
        written
    }

    pub(super) async fn collect_checkpoints(&mut self, plans: &[VpaPlan]) {
        let namespace = self.config.namespaces.only.as_deref();
        let listed = match checkpoints::list(&self.client, namespace).await {
            Ok(listed) => listed,
            Err(error) => {
                warn!(%error, "Cannot list checkpoints for garbage collection");
                return;
            }
        };
        let all_vpas: HashSet<(String, String)> = self
            .watches
            .vpas
            .state()
            .iter()
            .map(|v| {
                (
                    v.metadata.namespace.clone().unwrap_or_default(),
                    v.metadata.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let containers = plans
            .iter()
            .filter(|p| !p.aggregates.is_empty())
            .map(|p| {
                let names = p.aggregates.iter().map(|k| k.container.clone()).collect();
                ((p.namespace.clone(), p.name.clone()), names)
            })
            .collect();
        let stale: Vec<CheckpointRef> =
            checkpoints::stale_checkpoints(&listed, &all_vpas, &containers);
        for c in &stale {
            match checkpoints::delete(&self.client, c).await {
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
        self.cluster.retain_containers(|id| {
            snapshot
                .pods
                .contains_key(&(id.namespace.clone(), id.pod.clone()))
        });
        let removed = self.cluster.garbage_collect(snapshot.now);
        if !removed.is_empty() {
            info!(removed = removed.len(), "Dropped expired aggregates");
        }
    }
}
