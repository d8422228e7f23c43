//! `vpa-recommender replay`: a what-if tool that feeds usage samples from a CSV file through the
//! engine exactly as the service feeds it, and prints the recommendations. [`replay`] and the
//! renderers are pure; [`run`] is the edge that reads the file and writes the output.

mod args;
pub mod csv;
mod output;

use crate::config::engine::EngineArgs;
use std::collections::BTreeMap;
use std::process::ExitCode;

pub use args::{Format, ReplayArgs};
pub use output::{render_json, render_table};

use crate::logic::{
    ContainerInput, ControlledResources, PodResourceRecommender, RecommendedResources,
    RecommenderConfig,
};
use crate::model::{
    AggregationsConfig, ClusterState, ContainerId, ContainerUsageSample, Resource, Timestamp,
    cpu_amount_from_cores, memory_amount_from_bytes,
};
use csv::SampleRow;

/// The recommendation of one container of one workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadRecommendation {
    /// Namespace.
    pub namespace: String,
    /// Workload name.
    pub workload: String,
    /// Container name.
    pub container: String,
    /// Recommended request.
    pub target: RecommendedResources,
    /// Lower bound.
    pub lower_bound: RecommendedResources,
    /// Upper bound.
    pub upper_bound: RecommendedResources,
    /// Target before capping (equal to the target: replay applies no policy).
    pub uncapped_target: RecommendedResources,
}

/// Applies `rows` (in timestamp order, ties in the given order) up to `now` (default: the
/// latest row) and returns the recommendations at `now`, sorted by namespace, workload and
/// container.
pub fn replay(
    mut rows: Vec<SampleRow>,
    now: Option<Timestamp>,
    aggregation: &AggregationsConfig,
    estimation: &RecommenderConfig,
) -> Vec<WorkloadRecommendation> {
    rows.sort_by_key(|r| r.timestamp);
    let Some(now) = now.or(rows.last().map(|r| r.timestamp)) else {
        return Vec::new();
    };
    let mut cluster = ClusterState::new(*aggregation);
    for row in rows.iter().take_while(|r| r.timestamp <= now) {
        feed(&mut cluster, row);
    }
    cluster.garbage_collect(now);

    let mut workloads: BTreeMap<(&str, &str), BTreeMap<&str, _>> = BTreeMap::new();
    for (key, state) in cluster.aggregates() {
        workloads
            .entry((&*key.namespace, &*key.workload))
            .or_default()
            .insert(&*key.container, state);
    }
    let recommender = PodResourceRecommender::new(estimation);
    let mut result = Vec::new();
    for ((namespace, workload), containers) in workloads {
        let inputs: Vec<ContainerInput> = containers
            .into_iter()
            .map(|(name, state)| ContainerInput {
                name,
                state,
                controlled: ControlledResources::default(),
            })
            .collect();
        for r in recommender.recommend(&inputs) {
            result.push(WorkloadRecommendation {
                namespace: namespace.to_owned(),
                workload: workload.to_owned(),
                container: r.name.to_owned(),
                target: r.target,
                lower_bound: r.lower_bound,
                upper_bound: r.upper_bound,
                uncapped_target: r.uncapped_target,
            });
        }
    }
    result
}

/// One row is a CPU sample and a memory sample of its container instance, then, for an OOM
/// row, an OOM event (an OOM too old for the current memory window is dropped, as upstream).
fn feed(cluster: &mut ClusterState, row: &SampleRow) {
    let id = ContainerId {
        namespace: row.namespace.as_str().into(),
        pod: row.pod.as_str().into(),
        container: row.container.as_str().into(),
    };
    let memory = memory_amount_from_bytes(row.memory_bytes);
    for (resource, usage) in [
        (Resource::Cpu, cpu_amount_from_cores(row.cpu_cores)),
        (Resource::Memory, memory),
    ] {
        let sample = ContainerUsageSample {
            measure_start: row.timestamp,
            usage,
            resource,
        };
        cluster.add_sample(&id, &row.workload, &sample);
    }
    if row.oom {
        let _too_old = cluster.record_oom(&id, &row.workload, row.timestamp, memory);
    }
}

/// Runs the subcommand: 0 on success (even with skipped rows), 2 when the file cannot be read
/// or has no usable header.
pub fn run(args: &ReplayArgs, engine: &EngineArgs) -> ExitCode {
    let path = args.samples.display();
    let text = match std::fs::read_to_string(&args.samples) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read samples file {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let parsed = match csv::parse(&text) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: cannot use samples file {path}: {e}");
            return ExitCode::from(2);
        }
    };
    for bad in &parsed.bad {
        eprintln!(
            "warning: {path}: line {}: {}; row skipped",
            bad.line, bad.reason
        );
    }
    let recommendations = replay(
        parsed.rows,
        args.now,
        &engine.aggregations_config(),
        &engine.recommender_config(),
    );
    match args.format {
        Format::Table => print!("{}", render_table(&recommendations)),
        Format::Json => println!("{}", render_json(&recommendations)),
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
