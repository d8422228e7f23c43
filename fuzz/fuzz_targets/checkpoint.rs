//! VerticalPodAutoscalerCheckpoint objects (JSON, as the API server sends them) through the
//! recommender's checkpoint restore. Checks: a restored aggregate saves to a checkpoint that
//! restores again and saves to the same checkpoint (one save normalises; after that the cycle is
//! exact); the restored histograms give finite, non-negative percentiles, also after a new
//! sample arrives at `now`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vpa_common::api::VerticalPodAutoscalerCheckpoint;
use vpa_recommender::checkpoint::{load, save};
use vpa_recommender::model::{AggregateContainerState, AggregationsConfig};

/// 2026-11-20T00:00:00Z, the fixtures' day.
const NOW: i64 = 1_795_132_800;

fn check_percentiles(state: &AggregateContainerState, what: &str) {
    for histogram in [&state.cpu_usage, &state.memory_peaks] {
        for p in [0.0, 0.5, 0.9, 0.95, 1.0] {
            let v = histogram.percentile(p);
            assert!(v.is_finite() && v >= 0.0, "{what}: percentile {p} is {v}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(object) = serde_json::from_slice::<VerticalPodAutoscalerCheckpoint>(data) else {
        return;
    };
    let Some(status) = &object.status else {
        return;
    };
    let config = AggregationsConfig::default();
    let Ok(mut state) = load(status, &config, NOW) else {
        return;
    };
    check_percentiles(&state, "restored");
    let saved = save(&state, NOW);
    let restored = load(&saved, &config, NOW).expect("a saved checkpoint restores");
    let again = save(&restored, NOW);
    assert_eq!(again, saved, "save . load is not stable");

    state.cpu_usage.add_sample(0.5, 1.0, NOW);
    state.memory_peaks.add_sample(1e8, 1.0, NOW);
    check_percentiles(&state, "after a new sample");
});
