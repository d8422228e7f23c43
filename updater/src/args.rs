//! Command-line flags (upstream names and defaults) and their conversion into [`UpdaterConfig`].

use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::config::{
    AdmissionStatus, DEFAULT_EVICTION_RATE_BURST, DEFAULT_EVICTION_RATE_LIMIT, UpdaterConfig,
};
use crate::priority::PriorityConfig;
use crate::ratelimit::Rate;
use crate::restriction::RestrictionConfig;
use vpa_common::component::{Component, ComponentFlags};
pub use vpa_common::duration::parse_duration;
use vpa_common::duration::parse_positive_duration;
use vpa_common::leader_election::LeaderElectFlags;
use vpa_common::status_lease;

/// Evicts or resizes in place the pods whose requests drifted from their VPA's recommendation.
#[derive(Parser, Debug, Clone)]
/// A flag given twice takes its last value, as Go's flag package does.
#[command(name = "vpa-updater", version, about, long_about = None, args_override_self = true)]
pub struct Args {
    /// How often the updater looks for pods to update; also each loop's deadline.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub updater_interval: Duration,

    /// Minimum live replicas a controller needs before any of its pods is updated. A VPA's
    /// `updatePolicy.minReplicas` overrides it.
    #[arg(long, default_value_t = 2)]
    pub min_replicas: i32,

    /// Fraction of a controller's replicas that may be evicted or resized at once (truncated).
    #[arg(long, default_value_t = 0.5)]
    pub eviction_tolerance: f64,

    /// Evictions per second across the cluster; <= 0 disables the limit (upstream's default,
    /// -1). Our default 0.5/s caps the storm after an updater restart at 30 evictions a minute
    /// while a 2000-pod backlog still drains in about an hour. The in-place resize limiter uses
    /// the same rate.
    #[arg(long, default_value_t = DEFAULT_EVICTION_RATE_LIMIT, allow_negative_numbers = true)]
    pub eviction_rate_limit: f64,

    /// Burst of evictions (and of in-place resizes) allowed at once.
    #[arg(long, default_value_t = DEFAULT_EVICTION_RATE_BURST)]
    pub eviction_rate_burst: u32,

    /// Only evict while the admission controller's status Lease is fresh.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_admission_controller_status: bool,

    /// Name of the admission controller's status Lease.
    #[arg(long, default_value = status_lease::DEFAULT_NAME)]
    pub admission_controller_status_lease_name: String,

    /// Namespace of that Lease; defaults to $NAMESPACE, else kube-system.
    #[arg(long)]
    pub admission_controller_status_lease_namespace: Option<String>,

    /// The Lease counts as stale this long after its last renewal (must be > 0).
    #[arg(long, default_value = "1m", value_parser = parse_positive_duration)]
    pub admission_controller_status_lease_timeout: Duration,

    /// Resize in place without the disruption budget when no container needs a restart (beta).
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub in_place_skip_disruption_budget: bool,

    /// Smallest relative resource difference that updates a pod inside its recommended range.
    #[arg(long, default_value_t = 0.1)]
    pub pod_update_threshold: f64,

    /// A pod inside its recommended range is updated only after running this long.
    #[arg(long, default_value = "12h", value_parser = parse_duration)]
    pub in_recommendation_bounds_eviction_lifetime_threshold: Duration,

    /// A container OOM-killed this soon after starting gets its pod updated at once.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub evict_after_oom_threshold: Duration,

    /// `--leader-elect` and the timings, as every component has them.
    #[command(flatten)]
    pub leader: LeaderElectFlags,

    /// Name of the leader-election Lease.
    #[arg(long, default_value = "vpa-updater")]
    pub leader_elect_resource_name: String,

    /// Namespace of this pod; the default namespace of the admission controller's Lease.
    #[arg(long, env = "NAMESPACE", default_value = "kube-system")]
    pub namespace: String,

    /// The flags every component has (`--kubeconfig`, `--address`, namespaces, gates, klog).
    /// Of the gates, `PerVPAConfig` honours evictAfterOOMSeconds, `CPUStartupBoost` scales
    /// boosted pods back and `InPlace` handles VPAs in `InPlace` mode; `NativeSidecar` changes
    /// nothing (the updater weighs every observed container anyway).
    #[command(flatten)]
    pub common: ComponentFlags<UpdaterFlags>,
}

/// What the updater's shared flags differ in: port 8943, and a bad `--feature-gates` stops it
/// while parsing.
#[derive(Clone, Debug)]
pub struct UpdaterFlags;

impl Component for UpdaterFlags {
    const ADMIN_ADDRESS: &'static str = ":8943";
    const GATES_CHECKED_AT_PARSE: bool = true;
}

impl Args {
    /// The decision-relevant configuration.
    pub fn config(&self) -> UpdaterConfig {
        // Both were checked while parsing (see [`UpdaterFlags`] and the namespace conflict).
        let gates = self
            .common
            .gates()
            .expect("feature gates checked while parsing");
        let namespaces = self
            .common
            .namespaces()
            .expect("namespace flags checked while parsing");
        let lease_namespace = self
            .admission_controller_status_lease_namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.namespace.clone());
        UpdaterConfig {
            interval: self.updater_interval,
            priority: PriorityConfig {
                min_change_priority: self.pod_update_threshold,
                pod_lifetime_update_threshold: self
                    .in_recommendation_bounds_eviction_lifetime_threshold,
                evict_after_oom_threshold: self.evict_after_oom_threshold,
                per_vpa_config: gates.per_vpa_config,
            },
            restriction: RestrictionConfig {
                min_replicas: self.min_replicas,
                eviction_tolerance: self.eviction_tolerance,
                in_place_skip_disruption_budget: self.in_place_skip_disruption_budget,
            },
            eviction_rate: Rate {
                per_second: self.eviction_rate_limit,
                burst: self.eviction_rate_burst,
            },
            admission: AdmissionStatus {
                enabled: self.use_admission_controller_status,
                lease_name: self.admission_controller_status_lease_name.clone(),
                lease_namespace,
                timeout: self.admission_controller_status_lease_timeout,
            },
            namespaces,
            in_place_gate: gates.in_place,
            cpu_startup_boost: gates.cpu_startup_boost,
        }
    }
}

#[cfg(test)]
mod upstream_flags;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from([&["vpa-updater"], args].concat()).unwrap()
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        let a = parse(&["--updater-interval=3s", "--updater-interval=1h"]);
        assert_eq!(a.updater_interval, Duration::from_secs(3600));
    }

    #[test]
    fn defaults_match_upstream_except_the_rate_limit() {
        let config = parse(&[]).config();
        let upstream = UpdaterConfig::default();
        assert_eq!(config.interval, Duration::from_secs(60));
        assert_eq!(config.priority, upstream.priority);
        assert_eq!(config.restriction, upstream.restriction);
        assert_eq!(config.eviction_rate.per_second, 0.5);
        assert_eq!(config.eviction_rate.burst, 1);
        assert!(config.admission.enabled);
        assert_eq!(config.admission.lease_name, "vpa-admission-controller");
        assert_eq!(config.admission.timeout, Duration::from_secs(60));
        assert_eq!(
            parse(&[]).common.throttle.rate(),
            None,
            "no client-side limit"
        );
        let limited = parse(&["--kube-api-qps=50", "--kube-api-burst=20"])
            .common
            .throttle
            .rate();
        assert_eq!(limited.map(|r| (r.per_second, r.burst)), Some((50.0, 20)));
    }

    #[test]
    fn upstream_style_flags_parse() {
        let args = parse(&[
            "--updater-interval=30s",
            "--eviction-rate-limit=-1",
            "--use-admission-controller-status=false",
            "--leader-elect",
            "--ignored-vpa-object-namespaces=kube-system, monitoring",
            "--feature-gates=PerVPAConfig=true,CPUStartupBoost=true",
            "--in-recommendation-bounds-eviction-lifetime-threshold=1h30m",
            "--v=4",
        ]);
        let config = args.config();
        assert!(config.cpu_startup_boost);
        assert!(!parse(&[]).config().cpu_startup_boost);
        assert!(args.leader.leader_elect);
        assert_eq!(config.interval, Duration::from_secs(30));
        assert!(!config.eviction_rate.is_limited());
        assert!(!config.admission.enabled);
        assert!(config.priority.per_vpa_config);
        assert!(!config.in_place_gate);
        assert!(
            parse(&["--feature-gates=PerVPAConfig=false,InPlace=true"])
                .config()
                .in_place_gate
        );
        assert_eq!(config.namespaces.ignored, ["kube-system", "monitoring"]);
        assert_eq!(
            config.priority.pod_lifetime_update_threshold,
            Duration::from_secs(5400)
        );
    }

    #[test]
    fn namespace_flags_are_exclusive_and_lease_timeout_positive() {
        let both = [
            "vpa-updater",
            "--vpa-object-namespace=a",
            "--ignored-vpa-object-namespaces=b",
        ];
        assert!(Args::try_parse_from(both).is_err());
        let zero = [
            "vpa-updater",
            "--admission-controller-status-lease-timeout=0s",
        ];
        assert!(Args::try_parse_from(zero).is_err());
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86_400)));
    }
}
