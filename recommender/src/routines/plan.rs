//! What one loop should write (pure): per handled VPA, the recommendation computed from the
//! model's aggregates of its workload, post-processed ([`super::post_processing`]: rounding,
//! integer CPU, then policy capping with the global maximum), and the status that follows from
//! it; plus which aggregates to checkpoint. The executor in [`super::recommender`] only carries
//! the plan out.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use vpa_common::api::{
    RecommendedPodResources, VerticalPodAutoscalerCheckpoint, VerticalPodAutoscalerCheckpointSpec,
    VerticalPodAutoscalerStatus,
};
use vpa_common::capping::ContainerRecommendation;
use vpa_common::matching::selector_matches;
use vpa_common::policy;

use super::post_processing::post_process;
use super::status::{ConfidenceInfo, StatusInput, needs_write, next_status};
use crate::checkpoint;
use crate::config::OutputConfig;
use crate::input::snapshot::{PodInfo, Snapshot, VpaInfo};
use crate::logic::{ContainerInput, ControlledResources, PodResourceRecommender, confidence};
use crate::model::{
    AggregateContainerState, AggregateKey, ClusterState, ContainerState, Seconds, Timestamp,
};

/// Settings the planner needs besides the snapshot and the model.
#[derive(Clone, Copy, Debug)]
pub struct PlanContext<'a> {
    /// The estimator pipeline.
    pub recommender: &'a PodResourceRecommender,
    /// Post-processing.
    pub output: &'a OutputConfig,
    /// `--confidence-interval-cpu`, for the `LowConfidence` condition.
    pub confidence_interval: Seconds,
    /// Set while Prometheus history is loading: what is being fetched.
    pub fetching_history: Option<&'a str>,
}

/// What to do for one VPA.
#[derive(Clone, Debug, PartialEq)]
pub struct VpaPlan {
    /// Namespace of the VPA.
    pub namespace: String,
    /// Name of the VPA.
    pub name: String,
    /// The status after this loop.
    pub status: VerticalPodAutoscalerStatus,
    /// Whether it differs from the stored status (a patch is needed).
    pub write: bool,
    /// Whether this write gives the VPA its first recommendation.
    pub first_recommendation: bool,
    /// The recommendations written, in integer amounts (millicores, bytes), by container name.
    pub recommendations: Vec<ContainerRecommendation>,
    /// Pods matched by the VPA's selector.
    pub matched_pods: usize,
    /// Whether the target could not be resolved.
    pub unsupported: bool,
    /// Aggregates whose history belongs to this VPA, by container name.
    pub aggregates: Vec<AggregateKey>,
}

/// What the rest of a loop needs of a plan once its status is written (checkpoints, warnings):
/// without the status and recommendation maps, which at 10k VPAs held about 80 MiB when every
/// plan lived until the loop's end.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSummary {
    /// Namespace of the VPA.
    pub namespace: String,
    /// Name of the VPA.
    pub name: String,
    /// Whether a recommendation was computed.
    pub has_recommendation: bool,
    /// Pods matched by the VPA's selector.
    pub matched_pods: usize,
    /// Whether the target could not be resolved.
    pub unsupported: bool,
    /// Aggregates whose history belongs to this VPA, by container name.
    pub aggregates: Vec<AggregateKey>,
}

impl From<VpaPlan> for PlanSummary {
    fn from(plan: VpaPlan) -> Self {
        Self {
            has_recommendation: !plan.recommendations.is_empty(),
            namespace: plan.namespace,
            name: plan.name,
            matched_pods: plan.matched_pods,
            unsupported: plan.unsupported,
            aggregates: plan.aggregates,
        }
    }
}

/// Aggregates by container name.
type ContainerAggregates<'a> = BTreeMap<&'a str, (&'a AggregateKey, &'a AggregateContainerState)>;

/// The model and the pods grouped by (namespace, workload), built once per loop so planning
/// stays linear in the number of VPAs, aggregates and pods.
pub struct PlanIndex<'a> {
    aggregates: HashMap<(&'a str, &'a str), ContainerAggregates<'a>>,
    pods: HashMap<(&'a str, &'a str), Vec<&'a PodInfo>>,
}

impl<'a> PlanIndex<'a> {
    /// Groups `cluster`'s aggregates and `snapshot`'s pods by workload.
    pub fn new(snapshot: &'a Snapshot, cluster: &'a ClusterState) -> Self {
        let mut aggregates: HashMap<_, ContainerAggregates<'a>> = HashMap::new();
        for (key, state) in cluster.aggregates() {
            aggregates
                .entry((&*key.namespace, &*key.workload))
                .or_default()
                .insert(&*key.container, (key, state));
        }
        let mut pods: HashMap<_, Vec<&PodInfo>> = HashMap::new();
        for pod in snapshot.pods.values() {
            if let Some(workload) = &pod.workload {
                pods.entry((&*pod.namespace, &**workload))
                    .or_default()
                    .push(pod);
            }
        }
        Self { aggregates, pods }
    }

    /// The aggregates of `workload` in `namespace`, by container name.
    pub fn aggregates(&self, namespace: &str, workload: &str) -> ContainerAggregates<'a> {
        self.aggregates
            .get(&(namespace, workload))
            .cloned()
            .unwrap_or_default()
    }

    /// Pods of the VPA's target workload that its selector selects (the model only learns
    /// from the target's own pods).
    fn matched_pods(&self, namespace: &str, vpa: &VpaInfo) -> usize {
        let Ok(target) = &vpa.target else {
            return 0;
        };
        self.pods
            .get(&(namespace, target.workload.as_str()))
            .map_or(0, |pods| {
                pods.iter()
                    .filter(|p| selector_matches(&target.selector, &p.labels).unwrap_or(false))
                    .count()
            })
    }
}

/// Plans one VPA at `now`.
pub fn plan_vpa(
    vpa: &VpaInfo,
    index: &PlanIndex<'_>,
    ctx: PlanContext<'_>,
    now: Timestamp,
) -> VpaPlan {
    let namespace = vpa.namespace();
    let policy = vpa.vpa.spec.resource_policy.as_ref();
    let aggregates = match &vpa.target {
        Ok(target) => index.aggregates(namespace, &target.workload),
        Err(_) => BTreeMap::new(),
    };
    let inputs: Vec<ContainerInput> = aggregates
        .iter()
        .filter(|(name, _)| !policy::is_container_off(name, policy))
        .map(|(name, (_, state))| ContainerInput {
            name,
            state,
            controlled: ControlledResources::from_names(policy::controlled_resources(name, policy)),
        })
        .collect();
    let recommendations: Vec<ContainerRecommendation> = ctx
        .recommender
        .recommend(&inputs)
        .into_iter()
        .map(|r| ContainerRecommendation {
            container_name: r.name.to_owned(),
            target: r.target.to_amounts(),
            lower_bound: r.lower_bound.to_amounts(),
            upper_bound: r.upper_bound.to_amounts(),
            uncapped_target: r.uncapped_target.to_amounts(),
        })
        .collect();
    let mut recommendations = post_process(recommendations, &vpa.vpa, ctx.output);
    recommendations.sort_by(|a, b| a.container_name.cmp(&b.container_name));

    let confidence = inputs
        .iter()
        .filter(|c| !c.state.is_empty())
        .map(|c| ConfidenceInfo {
            history_seconds: c
                .state
                .last_sample_start
                .zip(c.state.first_sample_start)
                .map(|(last, first)| last - first)
                .unwrap_or(0),
            confidence: confidence(c.state, ctx.confidence_interval),
        })
        .min_by(|a, b| a.confidence.total_cmp(&b.confidence));
    let matched_pods = index.matched_pods(namespace, vpa);
    let previous = vpa.status.as_deref();
    let status = next_status(StatusInput {
        previous,
        generation: vpa.vpa.metadata.generation,
        recommendation: (!recommendations.is_empty()).then(|| RecommendedPodResources {
            container_recommendations: Some(recommendations.iter().map(|r| r.to_api()).collect()),
        }),
        matched_pods,
        config_unsupported: vpa.target.as_ref().err().cloned(),
        confidence,
        fetching_history: ctx.fetching_history.map(str::to_owned),
        now: Time(timestamp(now)),
    });
    let had_recommendation = previous.is_some_and(|s| s.recommendation.is_some());
    VpaPlan {
        namespace: namespace.to_owned(),
        name: vpa.name().to_owned(),
        write: needs_write(previous, &status),
        first_recommendation: !had_recommendation && status.recommendation.is_some(),
        status,
        recommendations,
        matched_pods,
        unsupported: vpa.target.is_err(),
        aggregates: aggregates.values().map(|(k, _)| (*k).clone()).collect(),
    }
}

/// Plans every VPA of the snapshot (the loop plans in chunks with [`PlanIndex`] and
/// [`plan_vpa`] instead, to hold only a chunk's plans at a time).
pub fn plan(snapshot: &Snapshot, cluster: &ClusterState, ctx: PlanContext<'_>) -> Vec<VpaPlan> {
    let index = PlanIndex::new(snapshot, cluster);
    snapshot
        .vpas
        .iter()
        .map(|vpa| plan_vpa(vpa, &index, ctx, snapshot.now))
        .collect()
}

/// The checkpoint objects of one VPA at `now`: one per aggregate, named `<vpa>-<container>`,
/// leaving out the memory peaks of windows still open in `live` (the model's instances by
/// aggregate; see [`checkpoint::save_closed_windows`]).
pub fn checkpoints_of(
    vpa: &PlanSummary,
    cluster: &ClusterState,
    live: &HashMap<&AggregateKey, Vec<&ContainerState>>,
    now: Timestamp,
) -> Vec<VerticalPodAutoscalerCheckpoint> {
    vpa.aggregates
        .iter()
        .filter_map(|key| {
            let state = cluster.aggregates().get(key)?;
            let mut object = VerticalPodAutoscalerCheckpoint::new(
                &checkpoint_name(&vpa.name, &key.container),
                VerticalPodAutoscalerCheckpointSpec {
                    vpa_object_name: Some(vpa.name.clone()),
                    container_name: Some(key.container.to_string()),
                },
            );
            object.metadata.namespace = Some(vpa.namespace.clone());
            object.status = Some(checkpoint::save_closed_windows(
                state,
                live.get(key).into_iter().flatten().copied(),
                now,
            ));
            Some(object)
        })
        .collect()
}

/// Name of the checkpoint of `container` of VPA `vpa`, as upstream.
pub fn checkpoint_name(vpa: &str, container: &str) -> String {
    format!("{vpa}-{container}")
}

/// `now` as an API timestamp (the Unix epoch if out of range).
pub fn timestamp(now: Timestamp) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_second(now).unwrap_or_default()
}

#[cfg(test)]
mod tests;
