// Upstream's test values (3.14 cores and friends) are not meant as π.
#![allow(clippy::approx_constant)]

use super::*;
use crate::model::{
    AggregationsConfig, ContainerStateAggregator, ContainerUsageSample, DAY, MAX_RESOURCE_AMOUNT,
    MINUTE, Resource, Timestamp,
};

const ANY_TIME: Timestamp = 0;

fn empty_state() -> AggregateContainerState {
    AggregateContainerState::new(&AggregationsConfig::default(), ANY_TIME)
}

fn base() -> ConstEstimator {
    ConstEstimator(Resources {
        cpu: cpu_amount_from_cores(3.14),
        memory: memory_amount_from_bytes(3.14e9),
    })
}

/// Nine CPU samples two minutes apart.
fn nine_samples() -> AggregateContainerState {
    let mut s = empty_state();
    for i in 0..9 {
        s.add_sample(&ContainerUsageSample {
            measure_start: ANY_TIME + i * 2 * MINUTE,
            usage: 1000,
            resource: Resource::Cpu,
        });
    }
    s
}

#[test]
fn percentile_estimator_reads_both_histograms() {
    let mut s = empty_state();
    for i in 1..=3 {
        let v = f64::from(i);
        s.cpu_usage.add_sample(v, 1.0, ANY_TIME);
        s.memory_peaks.add_sample(v * 1e9, 1.0, ANY_TIME);
    }
    let estimate = PercentileEstimator {
        cpu_percentile: 0.2,
        memory_percentile: 0.5,
    }
    .estimate(&s);
    assert!(
        (estimate.cpu as f64 / 1000.0 / 1.0 - 1.0).abs() < 0.05,
        "{estimate:?}"
    );
    assert!(
        (estimate.memory as f64 / 2e9 - 1.0).abs() < 0.05,
        "{estimate:?}"
    );
}

#[test]
fn confidence_counts_days_of_one_sample_a_minute() {
    assert_eq!(confidence(&nine_samples(), DAY), 0.00625);
    assert_eq!(confidence(&empty_state(), DAY), 0.0);
}

#[test]
fn confidence_multiplier_scales_by_missing_history() {
    let estimator = base().with_confidence_multiplier(0.1, 2.0, DAY, DAY);
    // 3.14 × (1 + 0.1 / 0.00625)² = 907.46
    let estimate = estimator.estimate(&nine_samples());
    assert_eq!(estimate.cpu, 907_460);
    assert_eq!(estimate.memory, 907_460_000_000);
}

#[test]
fn confidence_multiplier_uses_the_configured_interval() {
    let estimator = base().with_confidence_multiplier(0.1, 2.0, 18 * MINUTE, 18 * MINUTE);
    let s = nine_samples();
    assert_eq!(confidence(&s, 18 * MINUTE), 0.5);
    // 3.14 × (1 + 0.1 / 0.5)² = 4.5216
    let estimate = estimator.estimate(&s);
    assert_eq!(estimate.cpu, 4521);
    assert_eq!(estimate.memory, 4_521_600_000);
}

#[test]
fn no_history_gives_maximum_upper_and_zero_lower() {
    let s = empty_state();
    let upper = base()
        .with_confidence_multiplier(1.0, 1.0, DAY, DAY)
        .estimate(&s);
    assert_eq!(
        upper,
        Resources {
            cpu: MAX_RESOURCE_AMOUNT,
            memory: MAX_RESOURCE_AMOUNT
        }
    );
    let lower = base()
        .with_confidence_multiplier(1.0, -1.0, DAY, DAY)
        .estimate(&s);
    assert_eq!(lower, Resources { cpu: 0, memory: 0 });
}

#[test]
fn margin_adds_a_truncated_fraction() {
    let estimate = base().with_margin(0.1).estimate(&empty_state());
    assert_eq!(
        estimate,
        Resources {
            cpu: 3454,
            memory: 3_454_000_000
        }
    );
}

#[test]
fn min_resources_raise_each_amount() {
    let estimator = ConstEstimator(Resources {
        cpu: cpu_amount_from_cores(3.14),
        memory: memory_amount_from_bytes(2e7),
    })
    .with_min_resources(Resources {
        cpu: cpu_amount_from_cores(0.2),
        memory: memory_amount_from_bytes(4e8),
    });
    let estimate = estimator.estimate(&empty_state());
    assert_eq!(
        estimate,
        Resources {
            cpu: 3140,
            memory: 400_000_000
        }
    );
}
