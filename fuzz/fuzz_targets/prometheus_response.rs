//! Prometheus API answers (the body of a range query's reply) through the recommender's history
//! decoder. Checks: what decodes is JSON with the matching `status`; the samples handed on are
//! exactly the finite, non-negative points of the matrix, in order, with the series' namespace,
//! pod and container labels and whole-second timestamps; the counts agree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vpa_recommender::input::prometheus_history::{
    HistoryConfig, HistoryResource, LoadStats, decode_answer, range_samples,
};

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = decode_answer(data) else {
        return;
    };
    let json: Value = serde_json::from_slice(data).expect("a decoded answer is JSON");
    let Ok(result) = answer else {
        assert_eq!(json["status"], "error");
        return;
    };
    assert_eq!(json["status"], "success");

    let config = HistoryConfig::default();
    let mut expected = Vec::new();
    let mut series = 0;
    if let Some(matrix) = result.data().as_matrix() {
        for s in matrix {
            series += 1;
            let label = |name: &str| s.metric().get(name).cloned().unwrap_or_default();
            for p in s.samples() {
                if p.value().is_finite() && p.value() >= 0.0 {
                    let labels = (
                        label(&config.namespace_label),
                        label(&config.pod_label),
                        label(&config.container_label),
                    );
                    expected.push((labels, p.timestamp().trunc(), p.value()));
                }
            }
        }
    }

    let mut stats = LoadStats::default();
    let mut got = Vec::new();
    range_samples(
        result,
        HistoryResource::Memory,
        &config,
        &mut stats,
        &mut |s| {
            assert_eq!(s.resource, HistoryResource::Memory);
            got.push(s)
        },
    );
    assert_eq!(stats.series, series);
    assert_eq!(stats.samples, got.len());
    assert_eq!(got.len(), expected.len());
    for (s, ((namespace, pod, container), timestamp, value)) in got.iter().zip(&expected) {
        assert_eq!(
            (&s.namespace, &s.pod, &s.container),
            (namespace, pod, container)
        );
        assert_eq!(s.value.to_bits(), value.to_bits());
        if timestamp.abs() < 9e18 {
            assert_eq!(s.timestamp as f64, *timestamp, "timestamp {timestamp}");
        }
    }
});
