//! Command-line arguments of the engine and of `replay` (edge: clap definitions that become the
//! engine's plain config structs).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::csv::parse_timestamp;
use crate::logic::RecommenderConfig;
use crate::model::{AggregationsConfig, Seconds, Timestamp};

/// Estimation and aggregation flags, with upstream's names and defaults. Global, so they apply
/// to the service and to `replay` alike.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Fraction of usage added as the safety margin to the recommended request.
    #[arg(long, global = true, default_value_t = 0.15)]
    pub recommendation_margin_fraction: f64,
    /// Minimum CPU recommendation for a pod, split across its containers.
    #[arg(long, global = true, default_value_t = 25.0)]
    pub pod_recommendation_min_cpu_millicores: f64,
    /// Minimum memory recommendation for a pod in MiB, split across its containers.
    #[arg(long, global = true, default_value_t = 250.0)]
    pub pod_recommendation_min_memory_mb: f64,
    /// CPU usage percentile used as the target.
    #[arg(long, global = true, default_value_t = 0.9)]
    pub target_cpu_percentile: f64,
    /// Memory peak percentile used as the target.
    #[arg(long, global = true, default_value_t = 0.9)]
    pub target_memory_percentile: f64,
    /// CPU usage percentile used as the lower bound.
    #[arg(long, global = true, default_value_t = 0.5)]
    pub recommendation_lower_bound_cpu_percentile: f64,
    /// Memory peak percentile used as the lower bound.
    #[arg(long, global = true, default_value_t = 0.5)]
    pub recommendation_lower_bound_memory_percentile: f64,
    /// CPU usage percentile used as the upper bound.
    #[arg(long, global = true, default_value_t = 0.95)]
    pub recommendation_upper_bound_cpu_percentile: f64,
    /// Memory peak percentile used as the upper bound.
    #[arg(long, global = true, default_value_t = 0.95)]
    pub recommendation_upper_bound_memory_percentile: f64,
    /// History length counted as one unit of confidence for CPU bounds.
    #[arg(long, global = true, default_value = "24h", value_parser = parse_duration)]
    pub confidence_interval_cpu: Seconds,
    /// History length counted as one unit of confidence for memory bounds.
    #[arg(long, global = true, default_value = "24h", value_parser = parse_duration)]
    pub confidence_interval_memory: Seconds,
    /// Length of one memory peak window.
    #[arg(long, global = true, default_value = "24h", value_parser = parse_duration)]
    pub memory_aggregation_interval: Seconds,
    /// Number of memory peak windows kept; an aggregate without samples for that many windows expires.
    #[arg(long, global = true, default_value_t = 8)]
    pub memory_aggregation_interval_count: i64,
    /// Half-life of memory peak weights.
    #[arg(long, global = true, default_value = "24h", value_parser = parse_duration)]
    pub memory_histogram_decay_half_life: Seconds,
    /// Half-life of CPU sample weights.
    #[arg(long, global = true, default_value = "24h", value_parser = parse_duration)]
    pub cpu_histogram_decay_half_life: Seconds,
    /// Memory after an OOM kill is at least this multiple of the memory used.
    #[arg(long, global = true, default_value_t = 1.2)]
    pub oom_bump_up_ratio: f64,
    /// Memory after an OOM kill is at least this many bytes above the memory used.
    #[arg(long, global = true, default_value_t = 104_857_600.0)]
    pub oom_min_bump_up_bytes: f64,
}

impl EngineArgs {
    /// The aggregation settings these flags select.
    pub fn aggregations_config(&self) -> AggregationsConfig {
        AggregationsConfig {
            memory_aggregation_interval: self.memory_aggregation_interval,
            memory_aggregation_interval_count: self.memory_aggregation_interval_count,
            cpu_histogram_decay_half_life: self.cpu_histogram_decay_half_life,
            memory_histogram_decay_half_life: self.memory_histogram_decay_half_life,
            oom_bump_up_ratio: self.oom_bump_up_ratio,
            oom_min_bump_up_bytes: self.oom_min_bump_up_bytes,
        }
    }

    /// The estimation settings these flags select.
    pub fn recommender_config(&self) -> RecommenderConfig {
        RecommenderConfig {
            safety_margin_fraction: self.recommendation_margin_fraction,
            pod_min_cpu_millicores: self.pod_recommendation_min_cpu_millicores,
            pod_min_memory_mb: self.pod_recommendation_min_memory_mb,
            target_cpu_percentile: self.target_cpu_percentile,
            target_memory_percentile: self.target_memory_percentile,
            lower_bound_cpu_percentile: self.recommendation_lower_bound_cpu_percentile,
            lower_bound_memory_percentile: self.recommendation_lower_bound_memory_percentile,
            upper_bound_cpu_percentile: self.recommendation_upper_bound_cpu_percentile,
            upper_bound_memory_percentile: self.recommendation_upper_bound_memory_percentile,
            confidence_interval_cpu: self.confidence_interval_cpu,
            confidence_interval_memory: self.confidence_interval_memory,
        }
    }
}

/// Output format of `replay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// A JSON array sorted by namespace, workload and container.
    Json,
}

/// Replay usage samples from a CSV file and print the recommendations (what-if tool).
///
/// Feeds the samples through the recommendation engine exactly as the service does and prints
/// the recommendation of every container as the recommender would compute it at `--now`.
///
/// The file has a header row `timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes`
/// and an optional `oom` column (`true`/`1` marks an OOM kill of that container at that time,
/// `memory_bytes` then being the memory at the kill). Timestamps are RFC 3339 or Unix seconds.
/// Each (pod, container) is one container instance feeding the aggregate of (namespace,
/// workload, container). Rows apply in timestamp order, ties in file order; rows after `--now`
/// are ignored; containers without a sample in the memory window (8 days) before `--now` expire.
/// Bad rows are reported on stderr with their line number and skipped. An unreadable file exits
/// with status 2.
#[derive(Args, Clone, Debug)]
pub struct ReplayArgs {
    /// CSV file of usage samples.
    #[arg(long, value_name = "FILE")]
    pub samples: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// When recommendations are computed (RFC 3339 or Unix seconds); default: the last sample's time.
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp)]
    pub now: Option<Timestamp>,
}

/// A Go-style duration (`24h`, `1h30m`, `90s`, also `8d`) in whole, positive seconds.
pub fn parse_duration(text: &str) -> Result<Seconds, String> {
    let d = vpa_common::duration::parse_positive_duration(text)?;
    match d.as_secs() {
        0 => Err(format!("duration {text:?} must be at least 1s")),
        s => Seconds::try_from(s).map_err(|_| format!("duration {text:?} is out of range")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("1.5h"), Ok(5_400));
        assert_eq!(parse_duration("2000ms"), Ok(2));
        for bad in ["", "24", "1x", "h", "500ms", "0s", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
