//! What the recommender keeps of a VPA's stored status (pure data): enough to carry condition
//! transition times over and to tell whether a new status differs, read by the VPA cache
//! (`input`) and compared by the status decisions (`routines::status`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use vpa_common::api::VerticalPodAutoscalerStatus;

/// A stored VPA status as the watch cache keeps it: of the conditions, what the next status
/// carries over (type, status, transition time) and a fingerprint of the rest; the
/// recommendation only as a fingerprint. A recommendation in API form is four quantity maps per
/// container (kilobytes per VPA), and whole conditions with their messages were 3 MiB at 10k
/// VPAs; the loop only needs to know whether its new status differs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredStatus {
    /// Type, status and `lastTransitionTime` of each stored condition.
    pub transitions: Vec<ConditionTransition>,
    /// [`fingerprint`] of the stored conditions as a whole, if there are any.
    pub conditions: Option<u64>,
    /// `observedGeneration`, as stored.
    pub observed_generation: Option<i64>,
    /// [`fingerprint`] of the stored recommendation, if there is one.
    pub recommendation: Option<u64>,
}

/// What a stored condition passes on to the next status: a condition whose type and status
/// stay keeps its `lastTransitionTime`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionTransition {
    /// Condition type, e.g. `RecommendationProvided`.
    pub type_: Box<str>,
    /// `True`, `False` or `Unknown`.
    pub status: Box<str>,
    /// When the status last changed.
    pub last_transition_time: Option<Time>,
}

impl StoredStatus {
    /// What the cache keeps of `status`.
    pub fn of(status: &VerticalPodAutoscalerStatus) -> Self {
        let conditions = status.conditions.as_deref();
        Self {
            transitions: conditions
                .unwrap_or_default()
                .iter()
                .map(|c| ConditionTransition {
                    type_: c.type_.as_str().into(),
                    status: c.status.as_str().into(),
                    last_transition_time: c.last_transition_time.clone(),
                })
                .collect(),
            conditions: conditions.map(fingerprint),
            observed_generation: status.observed_generation,
            recommendation: status.recommendation.as_ref().map(fingerprint),
        }
    }
}

/// A hash of a value's JSON form: equal values (as typed values, which is what the API
/// round-trips for a custom resource) give equal fingerprints; different ones collide with
/// probability about 2^-64.
pub fn fingerprint<T: serde::Serialize + ?Sized>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(&serde_json::to_vec(value).unwrap_or_default());
    hasher.finish()
}
