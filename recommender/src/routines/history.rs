//! Loading Prometheus history into a model of its own in the background (edge), and mapping
//! history samples of pods that no longer exist to a workload by their name (pure).

use tokio::task::JoinHandle;

use super::feed;
use crate::input::prometheus_history::{HistoryError, HistorySample, LoadStats, PrometheusHistory};
use crate::input::snapshot::Snapshot;
use crate::model::{
    AggregationsConfig, ClusterState, ContainerId, ContainerUsageSample, Resource,
    WorkloadOverrides,
};

/// The result of a background history load.
pub type HistoryLoad = JoinHandle<Result<(ClusterState, LoadStats), HistoryError>>;

/// The workload a pod that is gone most likely belonged to: among the workloads targeted by the
/// snapshot's VPAs in the pod's namespace, the longest name `W` such that the pod is named
/// `W-<suffix>` with at most two suffix parts (`web-5d8f7c9b4-x2x7k`, `db-0`, `agent-q9z2c`).
pub fn guess_workload<'a>(snapshot: &'a Snapshot, namespace: &str, pod: &str) -> Option<&'a str> {
    snapshot
        .vpas
        .iter()
        .filter(|v| v.namespace() == namespace)
        .filter_map(|v| v.target.as_ref().ok())
        .map(|t| t.workload.as_str())
        .filter(|workload| {
            let name = workload.split_once('/').map_or(*workload, |(_, n)| n);
            pod.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|suffix| {
                    !suffix.is_empty()
                        && suffix.split('-').count() <= 2
                        && suffix
                            .split('-')
                            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
                })
        })
        .max_by_key(|w| w.len())
}

/// Adds one history sample: through the pod's current workload when the pod still exists, else
/// through [`guess_workload`]. Returns whether the model took it.
pub fn feed_sample(
    cluster: &mut ClusterState,
    snapshot: &Snapshot,
    sample: &HistorySample,
) -> bool {
    if feed::feed_history(cluster, snapshot, sample) {
        return true;
    }
    let known = snapshot.pods.contains(&sample.namespace, &sample.pod);
    let Some(workload) = (!known)
        .then(|| guess_workload(snapshot, &sample.namespace, &sample.pod))
        .flatten()
    else {
        return false;
    };
    let (resource, usage) = match sample.resource {
        crate::input::prometheus_history::HistoryResource::Cpu => (
            Resource::Cpu,
            crate::model::cpu_amount_from_cores(sample.value),
        ),
        crate::input::prometheus_history::HistoryResource::Memory => (
            Resource::Memory,
            crate::model::memory_amount_from_bytes(sample.value),
        ),
    };
    let id = ContainerId {
        namespace: sample.namespace.as_str().into(),
        pod: sample.pod.as_str().into(),
        container: sample.container.as_str().into(),
    };
    let usage = ContainerUsageSample {
        measure_start: sample.timestamp,
        usage,
        resource,
    };
    cluster.add_sample(&id, workload, &usage)
}

/// Starts loading history ending at `end` (Unix seconds) into a fresh model aggregating with
/// `config` and the per-VPA `overrides`, mapping pods with `snapshot`.
pub fn spawn_load(
    history: PrometheusHistory,
    snapshot: Snapshot,
    config: AggregationsConfig,
    overrides: WorkloadOverrides,
    end: i64,
) -> HistoryLoad {
    tokio::spawn(async move {
        let mut cluster = ClusterState::new(config);
        cluster.set_overrides(overrides);
        let stats = history
            .load(end, |sample| {
                feed_sample(&mut cluster, &snapshot, &sample);
            })
            .await?;
        Ok((cluster, stats))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vpa_common::testutil::VpaBuilder;

    use super::*;
    use crate::input::snapshot::{VpaInfo, VpaTarget};

    fn snapshot(workloads: &[&str]) -> Snapshot {
        Snapshot {
            vpas: workloads
                .iter()
                .map(|w| VpaInfo {
                    status: None,
                    vpa: Arc::new(
                        VpaBuilder::new("ns", &format!("{}-vpa", w.replace('/', "-"))).build(),
                    ),
                    target: Ok(VpaTarget {
                        workload: (*w).to_string(),
                        selector: Default::default(),
                    }),
                })
                .collect(),
            ..Snapshot::default()
        }
    }

    #[test]
    fn pods_that_are_gone_map_to_the_longest_matching_workload() {
        let s = snapshot(&["Deployment/web", "Deployment/web-api", "StatefulSet/db"]);
        assert_eq!(
            guess_workload(&s, "ns", "web-5d8f7c9b4-x2x7k"),
            Some("Deployment/web")
        );
        assert_eq!(
            guess_workload(&s, "ns", "web-api-7c9b4-abcde"),
            Some("Deployment/web-api")
        );
        assert_eq!(guess_workload(&s, "ns", "db-0"), Some("StatefulSet/db"));
        assert_eq!(
            guess_workload(&s, "ns", "web-a-b-c"),
            None,
            "too many parts"
        );
        assert_eq!(guess_workload(&s, "other", "db-0"), None, "other namespace");
        assert_eq!(guess_workload(&s, "ns", "cache-0"), None);
    }
}
