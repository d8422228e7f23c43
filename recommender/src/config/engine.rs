//! The engine's flags (edge: clap definitions that become the engine's plain settings,
//! [`RecommenderConfig`] and [`AggregationsConfig`]), with upstream's names. Each default is the
//! engine's own `Default`, stated there once.

use std::time::Duration;

use clap::Args;

use crate::logic::RecommenderConfig;
use crate::model::{AggregationsConfig, Seconds};

/// `seconds` as a Go duration (`24h0m0s`), the form a default is shown and parsed in.
fn go(seconds: Seconds) -> String {
    vpa_common::duration::format_go(Duration::from_secs(seconds.unsigned_abs()))
}

/// Estimation and aggregation flags, with upstream's names; the defaults are the engine's own.
/// Global, so they apply to the service, `replay` and `report` alike.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Fraction of usage added as the safety margin to the recommended request.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().safety_margin_fraction)]
    pub recommendation_margin_fraction: f64,
    /// Minimum CPU recommendation for a pod, split across its containers.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().pod_min_cpu_millicores)]
    pub pod_recommendation_min_cpu_millicores: f64,
    /// Minimum memory recommendation for a pod in MiB, split across its containers.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().pod_min_memory_mb)]
    pub pod_recommendation_min_memory_mb: f64,
    /// CPU usage percentile used as the target.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().target_cpu_percentile)]
    pub target_cpu_percentile: f64,
    /// Memory peak percentile used as the target.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().target_memory_percentile)]
    pub target_memory_percentile: f64,
    /// CPU usage percentile used as the lower bound.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().lower_bound_cpu_percentile)]
    pub recommendation_lower_bound_cpu_percentile: f64,
    /// Memory peak percentile used as the lower bound.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().lower_bound_memory_percentile)]
    pub recommendation_lower_bound_memory_percentile: f64,
    /// CPU usage percentile used as the upper bound.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().upper_bound_cpu_percentile)]
    pub recommendation_upper_bound_cpu_percentile: f64,
    /// Memory peak percentile used as the upper bound.
    #[arg(long, global = true, default_value_t = RecommenderConfig::default().upper_bound_memory_percentile)]
    pub recommendation_upper_bound_memory_percentile: f64,
    /// History length counted as one unit of confidence for CPU bounds.
    #[arg(long, global = true, default_value = go(RecommenderConfig::default().confidence_interval_cpu), value_parser = parse_duration)]
    pub confidence_interval_cpu: Seconds,
    /// History length counted as one unit of confidence for memory bounds.
    #[arg(long, global = true, default_value = go(RecommenderConfig::default().confidence_interval_memory), value_parser = parse_duration)]
    pub confidence_interval_memory: Seconds,
    /// Length of one memory peak window.
    #[arg(long, global = true, default_value = go(AggregationsConfig::default().memory_aggregation_interval), value_parser = parse_duration)]
    pub memory_aggregation_interval: Seconds,
    /// Number of memory peak windows kept; an aggregate without samples for that many windows expires.
    #[arg(long, global = true, default_value_t = AggregationsConfig::default().memory_aggregation_interval_count)]
    pub memory_aggregation_interval_count: i64,
    /// Half-life of memory peak weights.
    #[arg(long, global = true, default_value = go(AggregationsConfig::default().memory_histogram_decay_half_life), value_parser = parse_duration)]
    pub memory_histogram_decay_half_life: Seconds,
    /// Half-life of CPU sample weights.
    #[arg(long, global = true, default_value = go(AggregationsConfig::default().cpu_histogram_decay_half_life), value_parser = parse_duration)]
    pub cpu_histogram_decay_half_life: Seconds,
    /// Memory after an OOM kill is at least this multiple of the memory used.
    #[arg(long, global = true, default_value_t = AggregationsConfig::default().oom_bump_up_ratio)]
    pub oom_bump_up_ratio: f64,
    /// Memory after an OOM kill is at least this many bytes above the memory used.
    #[arg(long, global = true, default_value_t = AggregationsConfig::default().oom_min_bump_up_bytes)]
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
    fn without_flags_the_engine_runs_on_its_own_defaults() {
        let args: EngineArgs = vpa_common::testutil::parse_group(&[]).unwrap();
        assert_eq!(args.recommender_config(), RecommenderConfig::default());
        assert_eq!(args.aggregations_config(), AggregationsConfig::default());
    }

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
