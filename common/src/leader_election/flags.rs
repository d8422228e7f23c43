//! client-go's leader election flags (`--leader-elect-*`), shared by the recommender and the
//! updater, and the settings they resolve to.

use std::time::Duration;

use clap::{ArgAction, Args};

use crate::duration::parse_duration;

/// Leader election as the flags set it, before a replica adds its own identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Lease name (`--leader-elect-resource-name`).
    pub lease_name: String,
    /// Lease namespace (`--leader-elect-resource-namespace`).
    pub namespace: String,
    /// How long a lease is valid without renewal (`--leader-elect-lease-duration`).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up (`--leader-elect-renew-deadline`).
    pub renew_deadline: Duration,
    /// Pause between attempts (`--leader-elect-retry-period`).
    pub retry_period: Duration,
}

/// The `--leader-elect-*` flags except the Lease name, whose default differs per component
/// (`vpa-recommender-lease`, `vpa-updater`), so each binary declares that one itself.
#[derive(Args, Clone, Debug)]
pub struct LeaderElectFlags {
    /// Elect a leader on a Lease so that only one replica acts.
    #[arg(long, default_value_t = false, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,
    /// How long a leader's Lease is valid without renewal.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub leader_elect_lease_duration: Duration,
    /// How long the leader retries renewing before it gives up leadership (and exits).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub leader_elect_renew_deadline: Duration,
    /// Pause between attempts to acquire or renew leadership.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub leader_elect_retry_period: Duration,
    /// Lock object kind; only `leases` is supported (client-go dropped the others).
    #[arg(long, default_value = "leases", value_parser = ["leases"])]
    pub leader_elect_resource_lock: String,
    /// Namespace of the leader-election Lease.
    #[arg(long, default_value = "kube-system")]
    pub leader_elect_resource_namespace: String,
}

impl LeaderElectFlags {
    /// The settings for the Lease `lease_name`, or `None` without `--leader-elect`.
    pub fn settings(&self, lease_name: &str) -> Option<LeaseSettings> {
        self.leader_elect.then(|| LeaseSettings {
            lease_name: lease_name.to_owned(),
            namespace: self.leader_elect_resource_namespace.clone(),
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::parse_group;

    fn parse(args: &[&str]) -> Result<LeaderElectFlags, clap::Error> {
        parse_group(args)
    }

    #[test]
    fn defaults_are_client_gos_and_off() {
        let flags = parse(&[]).unwrap();
        assert_eq!(flags.settings("lease"), None);
        let on = parse(&["--leader-elect"])
            .unwrap()
            .settings("lease")
            .unwrap();
        assert_eq!(
            on,
            LeaseSettings {
                lease_name: "lease".into(),
                namespace: "kube-system".into(),
                lease_duration: Duration::from_secs(15),
                renew_deadline: Duration::from_secs(10),
                retry_period: Duration::from_secs(2),
            }
        );
    }

    #[test]
    fn go_style_values_parse_and_other_locks_are_refused() {
        let flags = parse(&[
            "--leader-elect=true",
            "--leader-elect-lease-duration=1m30s",
            "--leader-elect-retry-period=500ms",
            "--leader-elect-resource-namespace=vpa",
        ])
        .unwrap();
        let settings = flags.settings("x").unwrap();
        assert_eq!(settings.lease_duration, Duration::from_secs(90));
        assert_eq!(settings.retry_period, Duration::from_millis(500));
        assert_eq!(settings.namespace, "vpa");
        let refused = parse(&["--leader-elect-resource-lock=endpoints"]).unwrap_err();
        assert!(refused.to_string().contains("leases"), "{refused}");
    }
}
