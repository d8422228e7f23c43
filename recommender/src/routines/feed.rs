//! Feeding the model (pure): live usage and OOM kills of pods become samples of their workload's
//! aggregates; history samples from Prometheus likewise. Pods without a workload, init
//! containers (but native sidecars with the `NativeSidecar` gate, which the pod cache keeps as
//! containers) and (with `--memory-saver`) workloads no VPA targets are left out. Each live sample
//! the model takes for a container a VPA recommends for is also handed out as a
//! [`QualitySample`] (see [`super::quality`]).

use std::collections::HashSet;

use super::quality::{QualitySample, QualityTargets};
use crate::input::ContainerUsage;
use crate::input::oom::OomEvent;
use crate::input::prometheus_history::{HistoryResource, HistorySample};
use crate::input::snapshot::Snapshot;
use crate::model::{
    ClusterState, ContainerId, ContainerUsageSample, Resource, cpu_amount_from_cores,
    memory_amount_from_bytes,
};

/// What one feeding did, for logs and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Samples the model took.
    pub accepted: usize,
    /// Samples it refused (duplicates, out of order) or that had no workload.
    pub skipped: usize,
}

/// Which workloads are modelled: all, or with `--memory-saver` only VPA targets.
#[derive(Clone, Debug, Default)]
pub struct WorkloadFilter(Option<HashSet<String>>);

impl WorkloadFilter {
    /// Every workload.
    pub fn all() -> Self {
        Self(None)
    }

    /// Only the workloads the snapshot's VPAs target.
    pub fn targets_of(snapshot: &Snapshot) -> Self {
        Self(Some(
            snapshot
                .vpas
                .iter()
                .filter_map(|v| v.target.as_ref().ok())
                .map(|t| t.workload.clone())
                .collect(),
        ))
    }

    fn allows(&self, workload: &str) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(workload))
    }
}

/// The container instance `namespace`/`pod`/`container` (its names shared with the snapshot)
/// and its pod's workload, when the snapshot knows both.
fn workload_of<'a>(
    snapshot: &'a Snapshot,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Option<(ContainerId, &'a str)> {
    let info = snapshot.pods.get(namespace, pod)?;
    let container = info.container(container)?;
    let id = ContainerId {
        namespace: info.namespace.clone(),
        pod: info.name.clone(),
        container: container.name.clone(),
    };
    Some((id, info.workload.as_deref()?))
}

/// Adds one CPU and one memory sample per live measurement; `observe` gets the accepted samples
/// of the containers `targets` tracks.
pub fn feed_usage(
    cluster: &mut ClusterState,
    snapshot: &Snapshot,
    filter: &WorkloadFilter,
    usage: &[ContainerUsage],
    targets: &QualityTargets<'_>,
    observe: &mut impl FnMut(QualitySample<'_>),
) -> FeedStats {
    let mut stats = FeedStats::default();
    for u in usage {
        let Some((container, workload)) = workload_of(snapshot, &u.namespace, &u.pod, &u.container)
            .filter(|(_, w)| filter.allows(w))
        else {
            stats.skipped += 2;
            continue;
        };
        for (resource, amount) in [
            (Resource::Cpu, u.cpu_millicores),
            (Resource::Memory, u.memory_bytes),
        ] {
            let sample = ContainerUsageSample {
                measure_start: u.measure_start,
                usage: amount,
                resource,
            };
            if cluster.add_sample(&container, workload, &sample) {
                stats.accepted += 1;
                if let Some(tracked) =
                    targets.get(&container.namespace, workload, &container.container)
                {
                    observe(tracked.sample(resource, amount, false));
                }
            } else {
                stats.skipped += 1;
            }
        }
    }
    stats
}

/// Records OOM kills; kills too old for the memory window, or of unknown pods, are skipped.
/// `observe` gets the bumped-up memory samples of the containers `targets` tracks.
pub fn feed_ooms(
    cluster: &mut ClusterState,
    snapshot: &Snapshot,
    filter: &WorkloadFilter,
    ooms: &[OomEvent],
    targets: &QualityTargets<'_>,
    observe: &mut impl FnMut(QualitySample<'_>),
) -> FeedStats {
    let mut stats = FeedStats::default();
    for oom in ooms {
        let recorded = workload_of(snapshot, &oom.namespace, &oom.pod, &oom.container)
            .filter(|(_, w)| filter.allows(w))
            .is_some_and(|(id, workload)| {
                let Ok(bumped) = cluster.record_oom(&id, workload, oom.timestamp, oom.memory_bytes)
                else {
                    return false;
                };
                if let Some(tracked) = targets.get(&id.namespace, workload, &id.container) {
                    observe(tracked.sample(Resource::Memory, bumped, true));
                }
                true
            });
        if recorded {
            stats.accepted += 1;
        } else {
            stats.skipped += 1;
        }
    }
    stats
}

/// Adds one history sample from Prometheus, for a pod the snapshot maps to a workload.
/// Returns whether the model took it.
pub fn feed_history(
    cluster: &mut ClusterState,
    snapshot: &Snapshot,
    sample: &HistorySample,
) -> bool {
    let Some((id, workload)) =
        workload_of(snapshot, &sample.namespace, &sample.pod, &sample.container)
    else {
        return false;
    };
    let usage = ContainerUsageSample {
        measure_start: sample.timestamp,
        usage: match sample.resource {
            HistoryResource::Cpu => cpu_amount_from_cores(sample.value),
            HistoryResource::Memory => memory_amount_from_bytes(sample.value),
        },
        resource: match sample.resource {
            HistoryResource::Cpu => Resource::Cpu,
            HistoryResource::Memory => Resource::Memory,
        },
    };
    cluster.add_sample(&id, workload, &usage)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vpa_common::testutil::VpaBuilder;

    use super::*;
    use crate::input::snapshot::{PodInfo, VpaInfo, VpaTarget};
    use crate::model::AggregationsConfig;

    fn snapshot() -> Snapshot {
        let pod = |name: &str, workload: Option<&str>| {
            PodInfo::for_test("ns", name, Default::default(), workload, &["app"])
        };
        Snapshot {
            now: 0,
            vpas: vec![VpaInfo {
                status: None,
                vpa: Arc::new(VpaBuilder::new("ns", "web-vpa").build()),
                target: Ok(VpaTarget {
                    workload: "Deployment/web".into(),
                    selector: Default::default(),
                }),
            }],
            pods: [
                pod("web-1", Some("Deployment/web")),
                pod("other-1", Some("Deployment/other")),
                pod("bare", None),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn usage(pod: &str, container: &str, at: i64) -> ContainerUsage {
        ContainerUsage {
            namespace: "ns".into(),
            pod: pod.into(),
            container: container.into(),
            measure_start: at,
            cpu_millicores: 500,
            memory_bytes: 100 << 20,
        }
    }

    #[test]
    fn usage_feeds_the_workload_aggregate_and_skips_unknown_bare_and_init_containers() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        let s = snapshot();
        let input = [
            usage("web-1", "app", 100),
            usage("web-1", "app", 100),
            usage("web-1", "init", 100),
            usage("bare", "app", 100),
            usage("gone", "app", 100),
        ];
        let stats = feed_usage(
            &mut cluster,
            &s,
            &WorkloadFilter::all(),
            &input,
            &QualityTargets::none(&Default::default()),
            &mut |_| {},
        );
        // The repeated measurement's CPU sample is refused; its memory sample only updates the
        // window's peak, which stays the same.
        assert_eq!(stats.accepted, 3);
        assert_eq!(
            stats.skipped, 7,
            "a repeated CPU sample, an init container, a bare and a gone pod"
        );
        let keys: Vec<&str> = cluster.aggregates().keys().map(|k| &*k.workload).collect();
        assert_eq!(keys, ["Deployment/web"]);
    }

    #[test]
    fn memory_saver_models_only_vpa_targets() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        let s = snapshot();
        let input = [usage("web-1", "app", 100), usage("other-1", "app", 100)];
        let memory = Default::default();
        let none = QualityTargets::none(&memory);
        feed_usage(
            &mut cluster,
            &s,
            &WorkloadFilter::targets_of(&s),
            &input,
            &none,
            &mut |_| {},
        );
        assert_eq!(cluster.aggregates().len(), 1);
        feed_usage(
            &mut cluster,
            &s,
            &WorkloadFilter::all(),
            &input,
            &none,
            &mut |_| {},
        );
        assert_eq!(cluster.aggregates().len(), 2);
    }

    #[test]
    fn oom_of_a_known_container_is_recorded() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        let s = snapshot();
        feed_usage(
            &mut cluster,
            &s,
            &WorkloadFilter::all(),
            &[usage("web-1", "app", 100)],
            &QualityTargets::none(&Default::default()),
            &mut |_| {},
        );
        let oom = |pod: &str| OomEvent {
            namespace: "ns".into(),
            pod: pod.into(),
            container: "app".into(),
            timestamp: 130,
            memory_bytes: 50 << 20,
        };
        let mut memory = crate::routines::quality::RecommendationMemory::default();
        memory.remember(&crate::routines::plan::VpaPlan {
            namespace: "ns".into(),
            name: "web-vpa".into(),
            status: Default::default(),
            write: false,
            first_recommendation: false,
            recommendations: vec![vpa_common::capping::ContainerRecommendation {
                container_name: "app".into(),
                target: Default::default(),
                lower_bound: Default::default(),
                upper_bound: Default::default(),
                uncapped_target: [("memory".to_string(), 200 << 20)].into(),
            }],
            matched_pods: 1,
            unsupported: false,
            aggregates: vec![crate::model::AggregateKey {
                namespace: "ns".into(),
                workload: "Deployment/web".into(),
                container: "app".into(),
            }],
        });
        let targets = QualityTargets::new(&s, &memory);
        let mut seen = Vec::new();
        let stats = feed_ooms(
            &mut cluster,
            &s,
            &WorkloadFilter::all(),
            &[oom("web-1"), oom("gone")],
            &targets,
            &mut |q| seen.push((q.usage, q.recommendation, q.is_oom)),
        );
        assert_eq!((stats.accepted, stats.skipped), (1, 1));
        // max(max(50Mi request, 100Mi peak) + 100Mi, 100Mi × 1.2) = 200Mi.
        assert_eq!(seen, [((200 << 20) as f64, Some((200 << 20) as f64), true)]);
    }
}
