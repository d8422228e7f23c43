use proptest::prelude::*;
use vpa_common::api::from_yaml_str;

use super::*;
use crate::model::{ClusterState, ContainerId, DAY, HOUR, HistogramOptions, MINUTE};

/// 2026-11-20T00:00:00Z.
const T0: Timestamp = 1_795_132_800;

/// A checkpoint as upstream's recommender writes it.
const UPSTREAM: &str = r#"
lastUpdateTime: "2026-11-20T08:01:00Z"
version: v3
cpuHistogram:
  referenceTimestamp: "2026-11-20T00:00:00Z"
  bucketWeights:
    "39": 10000
    "40": 3127
    "41": 55
  totalWeight: 12.47
memoryHistogram:
  referenceTimestamp: "2026-11-21T00:00:00Z"
  bucketWeights:
    "5": 10000
  totalWeight: 3.0
firstSampleStart: "2026-11-18T08:00:00Z"
lastSampleStart: "2026-11-20T08:00:00Z"
totalSamplesCount: 2881
"#;

/// What upstream writes for a VPA whose containers never reported a sample.
const EMPTY: &str = r#"
lastUpdateTime: null
version: v3
cpuHistogram:
  referenceTimestamp: null
  totalWeight: 0
memoryHistogram:
  referenceTimestamp: null
  totalWeight: 0
firstSampleStart: null
lastSampleStart: null
totalSamplesCount: 0
"#;

fn parse(yaml: &str) -> VerticalPodAutoscalerCheckpointStatus {
    from_yaml_str(yaml).unwrap()
}

fn config() -> AggregationsConfig {
    AggregationsConfig::default()
}

#[test]
fn restores_an_upstream_checkpoint_with_the_same_percentiles() {
    let state = load(&parse(UPSTREAM), &config(), T0 + 9 * HOUR).unwrap();
    assert_eq!(state.total_samples_count, 2881);
    assert_eq!(state.first_sample_start, Some(T0 - 40 * HOUR));
    assert_eq!(state.last_sample_start, Some(T0 + 8 * HOUR));
    assert_eq!(state.cpu_usage.reference_timestamp(), T0);
    assert_eq!(state.memory_peaks.reference_timestamp(), T0 + DAY);
    assert_eq!(state.creation_time, T0 + 9 * HOUR);

    // Weights are 12.47 × {10000, 3127, 55} / 13182: cumulative 71.9 %, 99.6 %, 100 %.
    let cpu = HistogramOptions::cpu();
    assert_eq!(state.cpu_usage.percentile(0.5), cpu.bucket_start(40));
    assert_eq!(state.cpu_usage.percentile(0.9), cpu.bucket_start(41));
    assert_eq!(state.cpu_usage.percentile(0.999), cpu.bucket_start(42));
    let total = state.cpu_usage.histogram().total_weight();
    assert!((total - 12.47).abs() < 1e-12);
    let memory = HistogramOptions::memory();
    assert_eq!(state.memory_peaks.percentile(0.95), memory.bucket_start(6));
}

#[test]
fn restored_upstream_checkpoint_saves_back_unchanged() {
    let status = parse(UPSTREAM);
    let state = load(&status, &config(), T0).unwrap();
    let saved = save(&state, T0 + 8 * HOUR + MINUTE);
    assert_eq!(saved, status);
}

#[test]
fn empty_checkpoint_round_trips_with_null_times() {
    let status = parse(EMPTY);
    let state = load(&status, &config(), T0).unwrap();
    assert!(state.is_empty());
    assert!(state.cpu_usage.is_empty() && state.memory_peaks.is_empty());
    assert_eq!(state.cpu_usage.reference_timestamp(), GO_ZERO_TIME);
    let saved = save(&state, T0);
    let json = serde_json::to_value(&saved).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "lastUpdateTime": "2026-11-20T00:00:00Z",
            "version": "v3",
            "cpuHistogram": {"totalWeight": 0.0},
            "memoryHistogram": {"totalWeight": 0.0},
            "totalSamplesCount": 0,
        })
    );
    assert_eq!(
        VerticalPodAutoscalerCheckpointStatus {
            last_update_time: None,
            ..saved
        },
        status
    );
}

#[test]
fn other_versions_are_rejected() {
    let v2 = UPSTREAM.replace("version: v3", "version: v2");
    assert_eq!(
        load(&parse(&v2), &config(), T0).unwrap_err(),
        CheckpointError::UnsupportedVersion(Some("v2".into()))
    );
    let none = UPSTREAM.replace("version: v3\n", "");
    assert_eq!(
        load(&parse(&none), &config(), T0).unwrap_err(),
        CheckpointError::UnsupportedVersion(None)
    );
}

#[test]
fn out_of_range_and_negative_buckets_are_rejected() {
    let beyond = UPSTREAM.replace("\"41\": 55", "\"176\": 55");
    assert_eq!(
        load(&parse(&beyond), &config(), T0).unwrap_err(),
        CheckpointError::Cpu(HistogramLoadError::BucketOutOfRange {
            bucket: 176,
            num_buckets: 176
        })
    );
    let negative = UPSTREAM.replace("\"41\": 55", "\"-1\": 55");
    assert!(from_yaml_str::<VerticalPodAutoscalerCheckpointStatus>(&negative).is_err());
    let negative_total = UPSTREAM.replace("totalWeight: 3.0", "totalWeight: -3.0");
    assert_eq!(
        load(&parse(&negative_total), &config(), T0).unwrap_err(),
        CheckpointError::Memory(HistogramLoadError::NegativeTotalWeight(-3.0))
    );
}

fn busy_cluster() -> (ClusterState, ContainerId) {
    let mut cluster = ClusterState::new(config());
    let id = ContainerId {
        namespace: "default".into(),
        pod: "hamster-1".into(),
        container: "hamster".into(),
    };
    for i in 0..3 * 24 * 60 {
        let t = T0 + i * MINUTE;
        let wobble = (i % 97) * 3;
        for (resource, usage) in [
            (Resource::Cpu, 400 + wobble),
            (Resource::Memory, (60 + wobble % 20) << 20),
        ] {
            let sample = ContainerUsageSample {
                measure_start: t,
                usage,
                resource,
            };
            cluster.add_sample(&id, "hamster", &sample);
        }
    }
    (cluster, id)
}

#[test]
fn engine_state_round_trips_through_json() {
    let (cluster, _) = busy_cluster();
    let state = cluster.aggregates().values().next().unwrap();
    let saved = save(state, T0 + 3 * DAY);
    let json = serde_json::to_string(&saved).unwrap();
    let parsed: VerticalPodAutoscalerCheckpointStatus = serde_json::from_str(&json).unwrap();
    let restored = load(&parsed, &config(), T0 + 3 * DAY).unwrap();
    assert_eq!(save(&restored, T0 + 3 * DAY), saved);
    for p in [0.5, 0.9, 0.95] {
        assert_eq!(
            restored.cpu_usage.percentile(p),
            state.cpu_usage.percentile(p)
        );
        assert_eq!(
            restored.memory_peaks.percentile(p),
            state.memory_peaks.percentile(p)
        );
    }
    assert_eq!(restored.first_sample_start, state.first_sample_start);
    assert_eq!(restored.last_sample_start, state.last_sample_start);
    assert_eq!(restored.total_samples_count, 3 * 24 * 60);
}

#[test]
fn open_memory_windows_are_left_out() {
    let (cluster, id) = busy_cluster();
    let (key, state) = cluster.aggregates().iter().next().unwrap();
    let container = cluster.container(&id).unwrap();
    // Three days of samples from T0 made peaks at the window ends T0+1d, T0+2d and T0+3d, with
    // weights 1, 2 and 4 relative to the first; the last window is still open before T0+3d.
    assert_eq!(container.window_end(), Some(T0 + 3 * DAY));
    let weight = |s: &VerticalPodAutoscalerCheckpointStatus| {
        s.memory_histogram.as_ref().unwrap().total_weight.unwrap()
    };
    let now = T0 + 3 * DAY - HOUR;
    assert_eq!(weight(&save(state, now)), 7.0);
    assert_eq!(
        weight(&save_closed_windows(state, cluster.containers_of(key), now)),
        3.0
    );
    // Once the window has closed nothing is left out.
    let later = T0 + 3 * DAY;
    assert_eq!(
        save_closed_windows(state, cluster.containers_of(key), later),
        save(state, later)
    );
}

proptest! {
    #[test]
    fn save_load_save_is_stable(
        samples in prop::collection::vec((0i64..8_000, 1i64..(8 << 30), 1i64..7200), 1..100),
    ) {
        let mut cluster = ClusterState::new(config());
        let id = ContainerId { namespace: "ns".into(), pod: "p".into(), container: "c".into() };
        let mut t = T0;
        for (millicores, bytes, step) in samples {
            t += step;
            cluster.add_sample(&id, "w", &ContainerUsageSample { measure_start: t, usage: millicores, resource: Resource::Cpu });
            cluster.add_sample(&id, "w", &ContainerUsageSample { measure_start: t, usage: bytes, resource: Resource::Memory });
        }
        let state = cluster.aggregates().values().next().unwrap();
        let saved = save(state, t);
        let restored = load(&saved, &config(), t).unwrap();
        prop_assert_eq!(save(&restored, t), saved);
    }
}

#[test]
fn times_convert_in_whole_seconds_rounding_down() {
    let time = |s, ns| Time(jiff::Timestamp::new(s, ns).unwrap());
    assert_eq!(from_time(Some(&time(T0, 900_000_000))), Some(T0));
    assert_eq!(from_time(Some(&time(-1, -500_000_000))), Some(-2));
    assert_eq!(from_time(Some(&time(GO_ZERO_TIME, 0))), None);
    assert_eq!(from_time(None), None);
    assert_eq!(to_time(GO_ZERO_TIME), None);
    assert_eq!(to_time(T0), Some(time(T0, 0)));
}
