//! The next VPA status from a loop's results (pure): recommendation, conditions and observed
//! generation, with "only write when something changed" decided by plain equality.
//!
//! Conditions follow upstream (`RecommendationProvided`, `NoPodsMatched`, `ConfigUnsupported`,
//! `ConfigDeprecated` always removed) and add the two the API defines but upstream never sets:
//! `LowConfidence`, with how much history the recommendation rests on, and `FetchingHistory`
//! while history is loading. Conditions are sorted by type; a condition whose status did not change
//! keeps its `lastTransitionTime`, so an unchanged loop produces an identical status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use vpa_common::api::{
    RecommendedPodResources, VerticalPodAutoscalerCondition, VerticalPodAutoscalerStatus, condition,
};

use crate::config::stored_status::StoredStatus;

/// Below this confidence (about a day of samples) `LowConfidence` is set.
pub const LOW_CONFIDENCE_THRESHOLD: f64 = 1.0;

/// How much data the weakest container's recommendation rests on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfidenceInfo {
    /// Seconds between the first and last sample.
    pub history_seconds: i64,
    /// Upstream's confidence: roughly days of history at one sample per minute.
    pub confidence: f64,
}

/// Everything one loop learned about one VPA.
#[derive(Clone, Debug)]
pub struct StatusInput<'a> {
    /// The status currently stored, if any.
    pub previous: Option<&'a StoredStatus>,
    /// The VPA's `metadata.generation`.
    pub generation: Option<i64>,
    /// The recommendation computed this loop (after capping); `None` when there is none.
    pub recommendation: Option<RecommendedPodResources>,
    /// Pods matched by the VPA's selector.
    pub matched_pods: usize,
    /// Why the target cannot be served, when it cannot.
    pub config_unsupported: Option<String>,
    /// The lowest confidence among the VPA's containers, when any has samples.
    pub confidence: Option<ConfidenceInfo>,
    /// Set while history is still being loaded: what is being fetched.
    pub fetching_history: Option<String>,
    /// The loop's time.
    pub now: Time,
}

fn has_containers(r: &Option<RecommendedPodResources>) -> bool {
    r.as_ref()
        .and_then(|r| r.container_recommendations.as_ref())
        .is_some_and(|c| !c.is_empty())
}

/// Renders a duration as a short human string: `45m`, `3h`, `2d5h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s if s % 86_400 < 3600 => format!("{}d", s / 86_400),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The status to store after this loop.
pub fn next_status(input: StatusInput<'_>) -> VerticalPodAutoscalerStatus {
    let mut wanted: Vec<(&str, &str, Option<String>, Option<String>)> = Vec::new();
    let provided = has_containers(&input.recommendation);
    if let Some(reason) = &input.config_unsupported {
        wanted.push((
            condition::CONFIG_UNSUPPORTED,
            "True",
            Some("ConfigUnsupported".into()),
            Some(reason.clone()),
        ));
    }
    if input.matched_pods == 0 {
        let msg = "No pods match this VPA object".to_string();
        wanted.push((
            condition::NO_PODS_MATCHED,
            "True",
            Some("NoPodsMatched".into()),
            Some(msg.clone()),
        ));
        if !provided {
            wanted.push((
                condition::RECOMMENDATION_PROVIDED,
                "False",
                Some("NoPodsMatched".into()),
                Some(msg),
            ));
        }
    }
    if provided {
        wanted.push((condition::RECOMMENDATION_PROVIDED, "True", None, None));
    } else if input.matched_pods > 0 {
        wanted.push((
            condition::RECOMMENDATION_PROVIDED,
            "False",
            Some("NoUsageData".into()),
            Some("No usage samples yet for the matched pods".into()),
        ));
    }
    if let Some(info) = input
        .confidence
        .filter(|c| provided && c.confidence < LOW_CONFIDENCE_THRESHOLD)
    {
        let msg = format!(
            "{} of history, confidence {:.2}",
            human_duration(info.history_seconds),
            info.confidence
        );
        wanted.push((
            condition::LOW_CONFIDENCE,
            "True",
            Some("ShortHistory".into()),
            Some(msg),
        ));
    }
    if let Some(what) = &input.fetching_history {
        wanted.push((
            condition::FETCHING_HISTORY,
            "True",
            Some("LoadingHistory".into()),
            Some(what.clone()),
        ));
    }

    let previous_conditions = input
        .previous
        .map(|s| s.transitions.as_slice())
        .unwrap_or_default();
    let mut conditions: Vec<VerticalPodAutoscalerCondition> = wanted
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let kept_time = previous_conditions
                .iter()
                .find(|c| &*c.type_ == type_ && &*c.status == status)
                .and_then(|c| c.last_transition_time.clone());
            VerticalPodAutoscalerCondition {
                type_: type_.to_string(),
                status: status.to_string(),
                last_transition_time: Some(kept_time.unwrap_or_else(|| input.now.clone())),
                reason,
                message,
                observed_generation: input.generation,
            }
        })
        .collect();
    conditions.sort_by(|a, b| a.type_.cmp(&b.type_));

    VerticalPodAutoscalerStatus {
        recommendation: if provided { input.recommendation } else { None },
        conditions: Some(conditions),
        observed_generation: input.generation,
    }
}

/// Whether `next` differs from what is stored, i.e. whether a status patch is needed.
pub fn needs_write(previous: Option<&StoredStatus>, next: &VerticalPodAutoscalerStatus) -> bool {
    previous != Some(&StoredStatus::of(next))
}

#[cfg(test)]
mod tests;
