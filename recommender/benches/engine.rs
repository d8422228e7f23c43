//! Engine benchmarks: decaying-histogram add_sample and percentile, bytes per tracked
//! container, and a full recommendation pass over 100k containers. Results and the command are
//! in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group};
use vpa_recommender::logic::{
    ContainerInput, ControlledResources, PodResourceRecommender, RecommenderConfig,
};
use vpa_recommender::model::{
    AggregateContainerState, AggregationsConfig, ContainerState, ContainerUsageSample, DAY,
    DecayingHistogram, HistogramOptions, MINUTE, Resource, Timestamp,
};

/// 2026-11-20T00:00:00Z.
const T0: Timestamp = 1_795_132_800;

/// Deterministic noise in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// CPU usage in cores of a busy service: around `base` with ±30 % noise, a daily swing and a
/// rare spike to three times the base.
fn cpu_cores(noise: &mut Noise, base: f64, t: Timestamp) -> f64 {
    let day = ((t % DAY) as f64 / DAY as f64 * std::f64::consts::TAU).sin();
    let spike = if noise.next() > 0.995 { 2.0 } else { 0.0 };
    (base * (1.0 + 0.3 * noise.next() + 0.2 * day + spike)).max(0.0)
}

/// The aggregate of a container with two replicas sampled every minute for 8 days.
fn realistic_aggregate(seed: u64, base_cores: f64) -> AggregateContainerState {
    let config = AggregationsConfig::default();
    let mut noise = Noise(seed | 1);
    let mut aggregate = AggregateContainerState::new(&config, T0);
    let mut pods = [ContainerState::new(), ContainerState::new()];
    for minute in 0..8 * 24 * 60 {
        let t = T0 + minute * MINUTE;
        for pod in &mut pods {
            let cpu = cpu_cores(&mut noise, base_cores, t);
            let memory = 300e6 * base_cores * (1.0 + 0.1 * noise.next());
            for (resource, usage) in [
                (Resource::Cpu, (cpu * 1000.0) as i64),
                (Resource::Memory, memory as i64),
            ] {
                let sample = ContainerUsageSample {
                    measure_start: t,
                    usage,
                    resource,
                };
                pod.add_sample(&sample, &mut aggregate, &config);
            }
        }
    }
    aggregate
}

fn histogram_benches(c: &mut Criterion) {
    let mut noise = Noise(42);
    let values: Vec<f64> = (0..4096)
        .map(|i| cpu_cores(&mut noise, 0.5, T0 + i * MINUTE))
        .collect();
    let mut group = c.benchmark_group("decaying_histogram");
    group.bench_function("add_sample", |b| {
        let mut h = DecayingHistogram::new(HistogramOptions::cpu(), DAY);
        let mut i = 0usize;
        b.iter(|| {
            let value = values[i % values.len()];
            h.add_sample(black_box(value), 0.1, T0 + i as i64 * MINUTE);
            i += 1;
        })
    });
    let aggregate = realistic_aggregate(7, 0.5);
    group.bench_function("percentile", |b| {
        b.iter(|| aggregate.cpu_usage.percentile(black_box(0.9)))
    });
    group.finish();
}

/// 50,000 workloads of two containers each.
fn recommendation_benches(c: &mut Criterion) {
    let templates: Vec<AggregateContainerState> = (0..16)
        .map(|i| realistic_aggregate(i + 1, 0.05 * (i + 1) as f64))
        .collect();
    let aggregates: Vec<AggregateContainerState> = (0..100_000)
        .map(|i| templates[i % templates.len()].clone())
        .collect();
    let recommender = PodResourceRecommender::new(&RecommenderConfig::default());
    let mut group = c.benchmark_group("recommend");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("100k_containers", |b| {
        b.iter_batched(
            Vec::new,
            |mut out: Vec<i64>| {
                for pair in aggregates.chunks(2) {
                    let inputs = [
                        ContainerInput {
                            name: "app",
                            state: &pair[0],
                            controlled: ControlledResources::default(),
                        },
                        ContainerInput {
                            name: "sidecar",
                            state: &pair[1],
                            controlled: ControlledResources::default(),
                        },
                    ];
                    for r in recommender.recommend(&inputs) {
                        out.push(r.target.cpu.unwrap_or(0) + r.upper_bound.memory.unwrap_or(0));
                    }
                }
                out
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Bytes per tracked container: the aggregate (inline and heap) plus one instance's state.
fn report_memory() {
    let sizes: Vec<usize> = (0..16)
        .map(|i| {
            let a = realistic_aggregate(i + 1, 0.05 * (i + 1) as f64);
            std::mem::size_of_val(&a) + a.heap_bytes()
        })
        .collect();
    let mean = sizes.iter().sum::<usize>() / sizes.len();
    println!(
        "memory/aggregate_state: mean {mean} bytes, min {} max {} (inline {} + bucket windows), \
         per container instance {} bytes",
        sizes.iter().min().unwrap(),
        sizes.iter().max().unwrap(),
        std::mem::size_of::<AggregateContainerState>(),
        std::mem::size_of::<ContainerState>(),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = histogram_benches, recommendation_benches
}

fn main() {
    report_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
