use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use vpa_common::api::RecommendedContainerResources;

use crate::config::stored_status::fingerprint;

use super::*;

fn at(s: &str) -> Time {
    Time(s.parse().unwrap())
}

fn recommendation() -> RecommendedPodResources {
    let target: BTreeMap<String, Quantity> = [("cpu".into(), Quantity("587m".into()))].into();
    RecommendedPodResources {
        container_recommendations: Some(vec![RecommendedContainerResources {
            container_name: Some("hamster".into()),
            target: target.clone(),
            uncapped_target: Some(target),
            ..Default::default()
        }]),
    }
}

fn input(previous: Option<&StoredStatus>) -> StatusInput<'_> {
    StatusInput {
        previous,
        generation: Some(3),
        recommendation: Some(recommendation()),
        matched_pods: 2,
        config_unsupported: None,
        confidence: Some(ConfidenceInfo {
            history_seconds: 3 * 86_400,
            confidence: 3.0,
        }),
        fetching_history: None,
        now: at("2026-11-28T10:00:00Z"),
    }
}

fn types(s: &VerticalPodAutoscalerStatus) -> Vec<(&str, &str)> {
    s.conditions
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect()
}

#[test]
fn provided_recommendation_sets_only_recommendation_provided() {
    let s = next_status(input(None));
    assert_eq!(types(&s), [("RecommendationProvided", "True")]);
    assert_eq!(s.observed_generation, Some(3));
    assert!(s.recommendation.is_some());
}

#[test]
fn no_pods_and_no_recommendation_says_so_twice() {
    let s = next_status(StatusInput {
        recommendation: None,
        matched_pods: 0,
        ..input(None)
    });
    assert_eq!(
        types(&s),
        [
            ("NoPodsMatched", "True"),
            ("RecommendationProvided", "False")
        ]
    );
    let c = &s.conditions.as_ref().unwrap()[0];
    assert_eq!(c.message.as_deref(), Some("No pods match this VPA object"));
    assert!(s.recommendation.is_none());
}

#[test]
fn checkpoint_only_recommendation_is_still_provided_without_pods() {
    let s = next_status(StatusInput {
        matched_pods: 0,
        ..input(None)
    });
    assert_eq!(
        types(&s),
        [
            ("NoPodsMatched", "True"),
            ("RecommendationProvided", "True")
        ]
    );
}

#[test]
fn low_confidence_explains_how_much_history() {
    let s = next_status(StatusInput {
        confidence: Some(ConfidenceInfo {
            history_seconds: 3 * 3600,
            confidence: 0.125,
        }),
        ..input(None)
    });
    let low = s
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "LowConfidence")
        .unwrap();
    assert_eq!(
        low.message.as_deref(),
        Some("3h of history, confidence 0.12")
    );
}

#[test]
fn fetching_history_and_config_unsupported_are_reported() {
    let s = next_status(StatusInput {
        fetching_history: Some("loading 8d of history from Prometheus".into()),
        config_unsupported: Some("Cannot read targetRef: deployments.apps \"x\" not found".into()),
        ..input(None)
    });
    assert_eq!(
        types(&s),
        [
            ("ConfigUnsupported", "True"),
            ("FetchingHistory", "True"),
            ("RecommendationProvided", "True")
        ]
    );
}

#[test]
fn unchanged_loop_keeps_transition_times_and_needs_no_write() {
    let first = next_status(input(None));
    let stored = StoredStatus::of(&first);
    let later = StatusInput {
        now: at("2026-11-28T10:05:00Z"),
        ..input(Some(&stored))
    };
    let second = next_status(later);
    assert!(!needs_write(Some(&StoredStatus::of(&first)), &second));
}

#[test]
fn a_status_flip_moves_the_transition_time_and_needs_a_write() {
    let first = next_status(StatusInput {
        recommendation: None,
        ..input(None)
    });
    let stored = StoredStatus::of(&first);
    let second = next_status(StatusInput {
        now: at("2026-11-28T11:00:00Z"),
        ..input(Some(&stored))
    });
    assert!(needs_write(Some(&StoredStatus::of(&first)), &second));
    let provided = second
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "RecommendationProvided")
        .unwrap();
    assert_eq!(
        provided.last_transition_time,
        Some(at("2026-11-28T11:00:00Z"))
    );
}

#[test]
fn durations_read_naturally() {
    assert_eq!(human_duration(45 * 60), "45m");
    assert_eq!(human_duration(3 * 3600 + 59), "3h");
    assert_eq!(human_duration(2 * 86_400), "2d");
    assert_eq!(human_duration(2 * 86_400 + 5 * 3600), "2d5h");
}

#[test]
fn a_new_recommendation_needs_a_write_even_with_the_same_conditions() {
    let first = next_status(input(None));
    let stored = StoredStatus::of(&first);
    let mut changed = recommendation();
    changed.container_recommendations.as_mut().unwrap()[0]
        .target
        .insert("cpu".into(), Quantity("600m".into()));
    let second = next_status(StatusInput {
        recommendation: Some(changed),
        ..input(Some(&stored))
    });
    assert_eq!(second.conditions, first.conditions);
    assert!(needs_write(Some(&stored), &second));
    // The fingerprint survives the API's JSON round trip.
    let round_trip: RecommendedPodResources =
        serde_json::from_slice(&serde_json::to_vec(&second.recommendation).unwrap()).unwrap();
    assert_eq!(
        fingerprint(&round_trip),
        fingerprint(second.recommendation.as_ref().unwrap())
    );
}

#[test]
fn a_changed_message_needs_a_write_and_keeps_the_transition_time() {
    let low = |hours: i64, confidence: f64| ConfidenceInfo {
        history_seconds: hours * 3600,
        confidence,
    };
    let first = next_status(StatusInput {
        confidence: Some(low(3, 0.125)),
        ..input(None)
    });
    let stored = StoredStatus::of(&first);
    let second = next_status(StatusInput {
        confidence: Some(low(4, 0.167)),
        now: at("2026-11-28T11:00:00Z"),
        ..input(Some(&stored))
    });
    assert!(needs_write(Some(&stored), &second));
    let conditions = |s: &VerticalPodAutoscalerStatus| s.conditions.clone().unwrap();
    let (before, after) = (conditions(&first), conditions(&second));
    assert_ne!(before, after, "the message moved on");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.type_, &b.last_transition_time),
            (&a.type_, &a.last_transition_time),
            "no status changed, so no transition time did"
        );
    }
    assert!(!needs_write(Some(&StoredStatus::of(&second)), &second));
}
