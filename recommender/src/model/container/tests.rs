// Upstream's test values (3.14 cores and friends) are not meant as π.
#![allow(clippy::approx_constant)]

use super::*;
use crate::model::aggregate::AggregateContainerState;
use crate::model::types::{DAY, HOUR};

/// 2017-04-18 17:35:05 UTC, upstream's test timestamp.
const T: Timestamp = 1_492_536_905;
const MB: i64 = 1024 * 1024;

#[derive(Debug, PartialEq)]
enum Call {
    Add(ContainerUsageSample),
    Subtract(ContainerUsageSample),
}

/// Records what a container feeds to its aggregate, like upstream's histogram mocks.
#[derive(Default)]
struct Recorder(Vec<Call>);

impl ContainerStateAggregator for Recorder {
    fn add_sample(&mut self, sample: &ContainerUsageSample) {
        self.0.push(Call::Add(*sample));
    }
    fn subtract_sample(&mut self, sample: &ContainerUsageSample) {
        self.0.push(Call::Subtract(*sample));
    }
}

fn sample(t: Timestamp, usage: i64, resource: Resource) -> ContainerUsageSample {
    ContainerUsageSample {
        measure_start: t,
        usage,
        resource,
    }
}

fn memory(t: Timestamp, bytes: i64) -> ContainerUsageSample {
    sample(t, bytes, Resource::Memory)
}

#[test]
fn samples_feed_cpu_and_one_memory_peak_per_window() {
    let config = AggregationsConfig::default();
    let (mut c, mut rec) = (ContainerState::new(), Recorder::default());
    let step = config.memory_aggregation_interval / 2;
    for (i, (cpu, mem)) in [(3140, 5), (6280, 10), (1570, 2)].into_iter().enumerate() {
        let t = T + i as i64 * step;
        assert!(c.add_sample(&sample(t, cpu, Resource::Cpu), &mut rec, &config));
        assert!(c.add_sample(&memory(t, mem), &mut rec, &config));
    }
    // Out-of-order CPU sample and negative usages are discarded.
    assert!(!c.add_sample(
        &sample(T + 2 * step, 1000, Resource::Cpu),
        &mut rec,
        &config
    ));
    assert!(!c.add_sample(
        &sample(T + 4 * step, -1000, Resource::Cpu),
        &mut rec,
        &config
    ));
    assert!(!c.add_sample(&memory(T + 4 * step, -1000), &mut rec, &config));

    let end = T + DAY;
    assert_eq!(
        rec.0,
        vec![
            Call::Add(sample(T, 3140, Resource::Cpu)),
            Call::Add(memory(end, 5)),
            Call::Add(sample(T + step, 6280, Resource::Cpu)),
            Call::Subtract(memory(end, 5)),
            Call::Add(memory(end, 10)),
            Call::Add(sample(T + 2 * step, 1570, Resource::Cpu)),
            Call::Add(memory(end + DAY, 2)),
        ]
    );
}

#[test]
fn cpu_samples_carry_weight_point_one() {
    let config = AggregationsConfig::default();
    let mut aggregate = AggregateContainerState::new(&config, T);
    let mut c = ContainerState::new();
    for (i, cores) in [3.14, 6.28, 1.57].into_iter().enumerate() {
        let s = sample(T + i as i64 * HOUR, (cores * 1000.0) as i64, Resource::Cpu);
        assert!(c.add_sample(&s, &mut aggregate, &config));
    }
    let h = aggregate.cpu_usage.histogram();
    let weight_of = |cores: f64| h.bucket_weight(h.options().find_bucket(cores));
    // Decayed relative to the reference (T rounded to a day), each weight is 0.1 × 2^(age/24h).
    let reference = aggregate.cpu_usage.reference_timestamp();
    for (i, cores) in [3.14, 6.28, 1.57].into_iter().enumerate() {
        let decay = ((T + i as i64 * HOUR - reference) as f64 / DAY as f64).exp2();
        assert_eq!(weight_of(cores), 0.1 * decay, "{cores}");
    }
}

fn oom_test(
    steps: impl FnOnce(&mut ContainerState, &mut Recorder, &AggregationsConfig),
) -> Vec<Call> {
    let config = AggregationsConfig::default();
    let (mut c, mut rec) = (ContainerState::new(), Recorder::default());
    steps(&mut c, &mut rec, &config);
    rec.0
}

#[test]
fn oom_bumps_memory_by_twenty_percent() {
    let calls = oom_test(|c, rec, config| {
        c.record_oom(T, 1000 * MB, rec, config).unwrap();
    });
    assert_eq!(calls, vec![Call::Add(memory(T + DAY, 1200 * MB))]);
}

#[test]
fn smaller_ooms_do_not_run_away_and_larger_ones_replace_the_peak() {
    let calls = oom_test(|c, rec, config| {
        c.record_oom(T, 1000 * MB, rec, config).unwrap();
        c.record_oom(T, 999 * MB, rec, config).unwrap();
        c.record_oom(T, 999 * MB, rec, config).unwrap();
        c.record_oom(T, 2000 * MB, rec, config).unwrap();
    });
    let end = T + DAY;
    assert_eq!(
        calls,
        vec![
            Call::Add(memory(end, 1200 * MB)),
            Call::Subtract(memory(end, 1200 * MB)),
            Call::Add(memory(end, 2400 * MB)),
        ]
    );
}

#[test]
fn oom_bumps_small_memory_by_at_least_100_mib() {
    let calls = oom_test(|c, rec, config| {
        c.record_oom(T, MB, rec, config).unwrap();
    });
    assert_eq!(calls, vec![Call::Add(memory(T + DAY, 101 * MB))]);
}

#[test]
fn oom_bumps_from_a_known_usage_above_the_request() {
    let calls = oom_test(|c, rec, config| {
        assert!(c.add_sample(&memory(T, 3000 * MB), rec, config));
        c.record_oom(T, 1000 * MB, rec, config).unwrap();
    });
    let end = T + DAY;
    assert_eq!(
        calls,
        vec![
            Call::Add(memory(end, 3000 * MB)),
            Call::Subtract(memory(end, 3000 * MB)),
            Call::Add(memory(end, 3600 * MB)),
        ]
    );
}

#[test]
fn stale_oom_is_discarded() {
    let calls = oom_test(|c, rec, config| {
        assert!(c.add_sample(&memory(T, 1000 * MB), rec, config));
        assert_eq!(
            c.record_oom(T - 30 * HOUR, 1000 * MB, rec, config),
            Err(OomError::TooOld(T - 30 * HOUR))
        );
    });
    assert_eq!(calls, vec![Call::Add(memory(T + DAY, 1000 * MB))]);
}

#[test]
fn fresh_oom_just_before_a_window_boundary_is_kept_after_a_sample_crossed_it() {
    let calls = oom_test(|c, rec, config| {
        assert!(c.add_sample(&memory(T, 1000 * MB), rec, config));
        // A sample 10 s past the first window's end moves the window on by a whole interval.
        assert!(c.add_sample(&memory(T + DAY + 10, 1000 * MB), rec, config));
        assert_eq!(c.window_end(), Some(T + 2 * DAY));
        // The kill 5 s before that boundary is reported after the sample: 15 s old, not stale.
        c.record_oom(T + DAY - 5, 1000 * MB, rec, config).unwrap();
    });
    let end = T + 2 * DAY;
    assert_eq!(
        calls,
        vec![
            Call::Add(memory(T + DAY, 1000 * MB)),
            Call::Add(memory(end, 1000 * MB)),
            Call::Subtract(memory(end, 1000 * MB)),
            Call::Add(memory(end, 1200 * MB)),
        ]
    );
}

#[test]
fn oom_more_than_an_interval_before_the_last_sample_is_still_stale() {
    let calls = oom_test(|c, rec, config| {
        assert!(c.add_sample(&memory(T, 1000 * MB), rec, config));
        assert!(c.add_sample(&memory(T + DAY + HOUR, 1000 * MB), rec, config));
        let stale = T + HOUR - 1;
        assert_eq!(
            c.record_oom(stale, 1000 * MB, rec, config),
            Err(OomError::TooOld(stale))
        );
    });
    assert_eq!(calls.len(), 2, "only the two usage peaks: {calls:?}");
}

#[test]
fn oom_in_a_new_window_starts_a_new_peak() {
    let calls = oom_test(|c, rec, config| {
        assert!(c.add_sample(&memory(T, 2000 * MB), rec, config));
        c.record_oom(T + 2 * DAY, 1000 * MB, rec, config).unwrap();
    });
    assert_eq!(
        calls,
        vec![
            Call::Add(memory(T + DAY, 2000 * MB)),
            Call::Add(memory(T + 3 * DAY, 2400 * MB)),
        ]
    );
}

#[test]
fn older_memory_samples_are_discarded_but_equal_times_are_kept() {
    let config = AggregationsConfig::default();
    let (mut c, mut rec) = (ContainerState::new(), Recorder::default());
    assert!(c.add_sample(&memory(T, 10), &mut rec, &config));
    assert!(c.add_sample(&memory(T, 20), &mut rec, &config));
    assert!(!c.add_sample(&memory(T - 1, 30), &mut rec, &config));
    assert_eq!(c.max_memory_peak(), 20);
    assert_eq!(c.window_end(), Some(T + DAY));
}
