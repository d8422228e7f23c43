//! The updater's configuration as plain data (pure): what the flags mean once parsed, with
//! upstream's defaults except for the eviction rate limit (see [`DEFAULT_EVICTION_RATE_LIMIT`]).

use std::time::Duration;

use crate::priority::PriorityConfig;
use crate::ratelimit::Rate;
use crate::restriction::RestrictionConfig;
use vpa_common::status_lease;

/// Default `--eviction-rate-limit`: 0.5 evictions per second (one every 2 s, 30 per minute).
///
/// Upstream ships no limit (`-1`). After an updater restart, every pod that drifted while it was
/// away becomes eligible in the same loop, bounded only by each group's eviction tolerance, so
/// half of every workload can go at once; users report 2-3k pods evicted within 15-20 minutes
/// (about 2.5 per second), which floods the scheduler, image pulls and cluster autoscaler.
/// At 0.5 per second a backlog of 2 000 pods drains in about 67 minutes, well inside the 12 h
/// lifetime gate that already paces in-range updates, while a single workload of a few dozen
/// pods still converges within its first loops. `--eviction-rate-limit=-1` restores upstream's
/// unlimited behaviour.
pub const DEFAULT_EVICTION_RATE_LIMIT: f64 = 0.5;
/// Default `--eviction-rate-burst` (upstream's 1).
pub const DEFAULT_EVICTION_RATE_BURST: u32 = 1;

/// Which admission-controller status Lease gates evictions.
#[derive(Clone, Debug, PartialEq)]
pub struct AdmissionStatus {
    /// Check the Lease at all (`--use-admission-controller-status`).
    pub enabled: bool,
    /// Lease name (`--admission-controller-status-lease-name`).
    pub lease_name: String,
    /// Lease namespace (`--admission-controller-status-lease-namespace`, else `$NAMESPACE`, else
    /// `kube-system`).
    pub lease_namespace: String,
    /// Stale after this long without renewal (`--admission-controller-status-lease-timeout`).
    pub timeout: Duration,
}

impl Default for AdmissionStatus {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_name: status_lease::DEFAULT_NAME.into(),
            lease_namespace: "kube-system".into(),
            timeout: status_lease::DEFAULT_TIMEOUT,
        }
    }
}

pub use vpa_common::policy::NamespaceFilter;

/// Everything the update loop needs to decide.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdaterConfig {
    /// Time between loops (`--updater-interval`, 1m); also each loop's deadline.
    pub interval: Duration,
    /// Priority thresholds.
    pub priority: PriorityConfig,
    /// Disruption budget.
    pub restriction: RestrictionConfig,
    /// Eviction rate; the in-place limiter uses the same settings, as upstream.
    pub eviction_rate: Rate,
    /// Admission-controller liveness gate.
    pub admission: AdmissionStatus,
    /// Namespace filter for VPAs.
    pub namespaces: NamespaceFilter,
    /// Feature gate `InPlace` (alpha, off by default): handle VPAs in `InPlace` mode. Without it
    /// they are skipped, as upstream.
    pub in_place_gate: bool,
    /// Feature gate `CPUStartupBoost`: scale boosted pods back once their boost expired.
    pub cpu_startup_boost: bool,
}

impl Default for UpdaterConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            priority: PriorityConfig::default(),
            restriction: RestrictionConfig::default(),
            eviction_rate: Rate {
                per_second: DEFAULT_EVICTION_RATE_LIMIT,
                burst: DEFAULT_EVICTION_RATE_BURST,
            },
            admission: AdmissionStatus::default(),
            namespaces: NamespaceFilter::default(),
            in_place_gate: false,
            cpu_startup_boost: false,
        }
    }
}
