//! The report's data (pure): pods mapped to workloads by name, history fed into a model, and one
//! row per workload container with current requests, recommended target and the change.

use std::collections::BTreeMap;

use crate::input::prometheus_history::{HistoryResource, HistorySample};
use crate::logic::{ContainerInput, ControlledResources, PodResourceRecommender};
use crate::model::{
    ClusterState, ContainerId, ContainerUsageSample, Resource, cpu_amount_from_cores,
    memory_amount_from_bytes,
};

/// The workload a pod most likely belongs to, from its name alone: `web-5d8f7c9b4-x2x7k` →
/// `web` (Deployment: ReplicaSet hash and pod suffix), `db-0` → `db` (StatefulSet ordinal),
/// `agent-q9z2c` → `agent` (DaemonSet or Job suffix); other names stay as they are.
pub fn workload_of_pod(pod: &str) -> &str {
    let Some((rest, last)) = pod.rsplit_once('-') else {
        return pod;
    };
    if !last.is_empty() && last.chars().all(|c| c.is_ascii_digit()) {
        return rest;
    }
    let random = |s: &str| {
        s.len() == 5
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if !random(last) {
        return pod;
    }
    match rest.rsplit_once('-') {
        Some((base, hash))
            if (6..=10).contains(&hash.len())
                && hash
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && hash.chars().any(|c| c.is_ascii_digit()) =>
        {
            base
        }
        _ => rest,
    }
}

/// Feeds one history sample into `cluster`, under the workload its pod name suggests.
pub fn feed(cluster: &mut ClusterState, sample: &HistorySample) -> bool {
    let id = ContainerId {
        namespace: sample.namespace.as_str().into(),
        pod: sample.pod.as_str().into(),
        container: sample.container.as_str().into(),
    };
    let (resource, usage) = match sample.resource {
        HistoryResource::Cpu => (Resource::Cpu, cpu_amount_from_cores(sample.value)),
        HistoryResource::Memory => (Resource::Memory, memory_amount_from_bytes(sample.value)),
    };
    let usage = ContainerUsageSample {
        measure_start: sample.timestamp,
        usage,
        resource,
    };
    cluster.add_sample(&id, workload_of_pod(&sample.pod), &usage)
}

/// Current requests of one workload container (the largest among its pods): millicores, bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// CPU request, if known.
    pub cpu: Option<i64>,
    /// Memory request, if known.
    pub memory: Option<i64>,
}

/// (namespace, workload, container).
pub type ContainerKey = (String, String, String);

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    /// Namespace.
    pub namespace: String,
    /// Workload (from pod names).
    pub workload: String,
    /// Container.
    pub container: String,
    /// Current requests.
    pub requests: Requests,
    /// Recommended CPU, millicores.
    pub cpu_target: i64,
    /// Recommended memory, bytes.
    pub memory_target: i64,
}

impl ReportRow {
    /// Target minus request for CPU (millicores), when the request is known.
    pub fn cpu_change(&self) -> Option<i64> {
        self.requests.cpu.map(|r| self.cpu_target - r)
    }

    /// Target minus request for memory (bytes), when the request is known.
    pub fn memory_change(&self) -> Option<i64> {
        self.requests.memory.map(|r| self.memory_target - r)
    }
}

/// Recommends for every workload of `cluster`, joined with the known `requests`; sorted by
/// namespace, workload and container.
pub fn rows(
    cluster: &ClusterState,
    recommender: &PodResourceRecommender,
    requests: &BTreeMap<ContainerKey, Requests>,
) -> Vec<ReportRow> {
    let mut workloads: BTreeMap<(&str, &str), Vec<ContainerInput>> = BTreeMap::new();
    for (key, state) in cluster.aggregates() {
        workloads
            .entry((&*key.namespace, &*key.workload))
            .or_default()
            .push(ContainerInput {
                name: &key.container,
                state,
                controlled: ControlledResources::default(),
            });
    }
    let mut out = Vec::new();
    for ((namespace, workload), mut inputs) in workloads {
        inputs.sort_by_key(|c| c.name);
        for r in recommender.recommend(&inputs) {
            let key = (namespace.to_owned(), workload.to_owned(), r.name.to_owned());
            out.push(ReportRow {
                requests: requests.get(&key).copied().unwrap_or_default(),
                namespace: key.0,
                workload: key.1,
                container: key.2,
                cpu_target: r.target.cpu.unwrap_or_default(),
                memory_target: r.target.memory.unwrap_or_default(),
            });
        }
    }
    out
}

/// Sums over rows: (requested, recommended) for CPU in millicores and memory in bytes, counting
/// only rows whose request is known, so the two sides compare like for like.
pub fn totals(rows: &[ReportRow]) -> ((i64, i64), (i64, i64)) {
    let cpu = rows
        .iter()
        .filter_map(|r| Some((r.requests.cpu?, r.cpu_target)))
        .fold((0, 0), |(a, b), (r, t)| (a + r, b + t));
    let memory = rows
        .iter()
        .filter_map(|r| Some((r.requests.memory?, r.memory_target)))
        .fold((0, 0), |(a, b), (r, t)| (a + r, b + t));
    (cpu, memory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::RecommenderConfig;
    use crate::model::AggregationsConfig;

    #[test]
    fn pod_names_map_to_their_workload() {
        let cases = [
            ("web-5d8f7c9b4-x2x7k", "web"),
            ("web-api-7c9b4d6f8-abcde", "web-api"),
            ("db-0", "db"),
            ("agent-q9z2c", "agent"),
            ("standalone", "standalone"),
            ("my-pod", "my-pod"),
        ];
        for (pod, workload) in cases {
            assert_eq!(workload_of_pod(pod), workload, "{pod}");
        }
    }

    #[test]
    fn rows_join_history_with_requests_and_totals_compare_like_for_like() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        for t in 0..120 {
            for (pod, container, cpu) in [("web-5d8f7c9b4-aaaaa", "app", 0.5), ("db-0", "pg", 1.0)]
            {
                for (resource, value) in [
                    (HistoryResource::Cpu, cpu),
                    (HistoryResource::Memory, 200e6),
                ] {
                    feed(
                        &mut cluster,
                        &HistorySample {
                            namespace: "shop".into(),
                            pod: pod.into(),
                            container: container.into(),
                            resource,
                            timestamp: 1_800_000_000 + t * 60,
                            value,
                        },
                    );
                }
            }
        }
        let requests = BTreeMap::from([(
            ("shop".to_string(), "web".to_string(), "app".to_string()),
            Requests {
                cpu: Some(1000),
                memory: Some(512 << 20),
            },
        )]);
        let recommender = PodResourceRecommender::new(&RecommenderConfig::default());
        let rows = rows(&cluster, &recommender, &requests);
        let names: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.workload.as_str(), r.container.as_str()))
            .collect();
        assert_eq!(names, [("db", "pg"), ("web", "app")]);
        let web = &rows[1];
        assert!(
            web.cpu_change().unwrap() < -300,
            "0.5 cores used of 1 requested: {web:?}"
        );
        assert_eq!(rows[0].cpu_change(), None, "no request known");
        let ((requested, recommended), _) = totals(&rows);
        assert_eq!((requested, recommended), (1000, web.cpu_target));
    }
}
