//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas of the recommender or
//! updater never act at once (edge, with the decision itself pure).
//!
//! Same protocol as client-go's Lease lock: the holder renews `renewTime` every retry period; a
//! candidate takes over once `renewTime + leaseDurationSeconds` has passed. Every write carries the
//! Lease's resourceVersion, so when two candidates race the API server accepts one and answers
//! 409 Conflict to the other. A leader that cannot renew within the renew deadline stops leading:
//! like upstream, the binaries treat that as fatal and exit, and their Deployment restarts them as
//! candidates.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

mod flags;
mod leading;

pub use flags::{LeaderElectFlags, LeaseSettings};
pub use leading::{LostLeadership, run_while_leading};

/// Settings, with upstream's flag names (`--leader-elect-*`) and defaults.
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// Lease name (`--leader-elect-resource-name`).
    pub lease_name: String,
    /// Lease namespace (`--leader-elect-resource-namespace`, kube-system).
    pub namespace: String,
    /// This replica's identity, `<hostname>_<random>`.
    pub identity: String,
    /// How long a lease is valid without renewal (`--leader-elect-lease-duration`, 15 s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up (`--leader-elect-renew-deadline`, 10 s).
    pub renew_deadline: Duration,
    /// Pause between attempts (`--leader-elect-retry-period`, 2 s).
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Upstream defaults for the given lease; the identity is the host name plus a random suffix.
    pub fn new(lease_name: &str, namespace: &str) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        let suffix = Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id());
        Self {
            lease_name: lease_name.into(),
            namespace: namespace.into(),
            identity: format!("{host}_{suffix:x}"),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// The configuration of this replica for `settings` (from the flags), with a fresh identity.
    pub fn from_settings(settings: &LeaseSettings) -> Self {
        Self {
            lease_duration: settings.lease_duration,
            renew_deadline: settings.renew_deadline,
            retry_period: settings.retry_period,
            ..Self::new(&settings.lease_name, &settings.namespace)
        }
    }
}

/// What a candidate should do with the Lease as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No valid holder: take the lease.
    Acquire,
    /// We hold it: renew.
    Renew,
    /// Someone else holds a valid lease.
    Wait {
        /// The current holder.
        holder: String,
    },
}

/// Decides from the Lease spec (if the Lease exists) at `now`.
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::Acquire;
    };
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == identity {
        return Decision::Renew;
    }
    if holder.is_empty() {
        return Decision::Acquire;
    }
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
    match renewed {
        Some(at) if at.checked_add(duration).is_ok_and(|end| end > now) => {
            Decision::Wait { holder }
        }
        _ => Decision::Acquire,
    }
}

/// The spec to write for `decision`, keeping acquire time and transitions as client-go does.
pub fn next_spec(
    current: Option<&LeaseSpec>,
    decision: &Decision,
    config: &LeaderElectionConfig,
    now: Timestamp,
) -> LeaseSpec {
    let mut spec = current.cloned().unwrap_or_default();
    let now = MicroTime(now);
    if *decision == Decision::Acquire {
        if current.is_some_and(|c| c.holder_identity.as_deref() != Some(config.identity.as_str())) {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.acquire_time = Some(now.clone());
    }
    spec.holder_identity = Some(config.identity.clone());
    spec.lease_duration_seconds = Some(config.lease_duration.as_secs() as i32);
    spec.renew_time = Some(now);
    spec
}

/// Runs the election for one replica.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
}

impl LeaderElector {
    /// An elector using `client` for the configured Lease.
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &LeaderElectionConfig {
        &self.config
    }

    /// One attempt: acquires or renews when allowed. `Ok(true)` when we lead afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let existing = self.api.get_opt(&self.config.lease_name).await?;
        let decision = decide(
            existing.as_ref().and_then(|l| l.spec.as_ref()),
            &self.config.identity,
            now,
        );
        if let Decision::Wait { .. } = decision {
            return Ok(false);
        }
        let spec = next_spec(
            existing.as_ref().and_then(|l| l.spec.as_ref()),
            &decision,
            &self.config,
            now,
        );
        let result = match existing {
            Some(mut lease) => {
                lease.spec = Some(spec);
                self.api
                    .replace(&self.config.lease_name, &PostParams::default(), &lease)
                    .await
            }
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.lease_name.clone()),
                        ..Default::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
        };
        match result {
            Ok(_) => Ok(true),
            // Another candidate wrote first: not leading this round.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica leads, retrying every retry period.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.config.lease_name, identity = %self.config.identity, "Acquired leadership");
                    return;
                }
                Ok(false) => {
                    tracing::debug!(lease = %self.config.lease_name, "Lease held by another replica")
                }
                Err(e) => {
                    tracing::warn!(lease = %self.config.lease_name, error = %e, "Leader election attempt failed")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews every retry period while leading; returns when leadership is lost (no successful
    /// renewal within the renew deadline, or another holder took over).
    pub async fn keep_leading(&self) {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!(lease = %self.config.lease_name, "Another replica took the lease");
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = %self.config.lease_name, error = %e, "Lease renewal failed")
                }
            }
            if last_renewal.elapsed() > self.config.renew_deadline {
                tracing::error!(lease = %self.config.lease_name, "Could not renew the lease within the renew deadline");
                return;
            }
        }
    }

    /// Gives the lease up (on graceful shutdown), so another replica can take over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.lease_name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        if let Err(e) = self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(lease = %self.config.lease_name, error = %e, "Could not release the lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn held_by(holder: &str, renewed: &str) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(t(renewed))),
            acquire_time: Some(MicroTime(t(renewed))),
            lease_transitions: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn missing_or_empty_lease_is_acquired() {
        assert_eq!(
            decide(None, "me", t("2026-11-28T10:00:00Z")),
            Decision::Acquire
        );
        let empty = LeaseSpec::default();
        assert_eq!(
            decide(Some(&empty), "me", t("2026-11-28T10:00:00Z")),
            Decision::Acquire
        );
    }

    #[test]
    fn valid_foreign_lease_is_respected_until_it_expires() {
        let spec = held_by("other", "2026-11-28T10:00:00Z");
        assert_eq!(
            decide(Some(&spec), "me", t("2026-11-28T10:00:14Z")),
            Decision::Wait {
                holder: "other".into()
            }
        );
        assert_eq!(
            decide(Some(&spec), "me", t("2026-11-28T10:00:16Z")),
            Decision::Acquire
        );
    }

    #[test]
    fn own_lease_is_renewed() {
        let spec = held_by("me", "2026-11-28T09:00:00Z");
        assert_eq!(
            decide(Some(&spec), "me", t("2026-11-28T10:00:00Z")),
            Decision::Renew
        );
    }

    #[test]
    fn takeover_counts_a_transition_and_renewal_does_not() {
        let config = LeaderElectionConfig {
            identity: "me".into(),
            ..LeaderElectionConfig::new("vpa-updater", "kube-system")
        };
        let now = t("2026-11-28T10:01:00Z");
        let foreign = held_by("other", "2026-11-28T10:00:00Z");
        let taken = next_spec(Some(&foreign), &Decision::Acquire, &config, now);
        assert_eq!(taken.lease_transitions, Some(3));
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        assert_eq!(taken.acquire_time, Some(MicroTime(now)));
        let renewed = next_spec(
            Some(&taken),
            &Decision::Renew,
            &config,
            t("2026-11-28T10:01:02Z"),
        );
        assert_eq!(renewed.lease_transitions, Some(3));
        assert_eq!(renewed.acquire_time, Some(MicroTime(now)));
        assert_eq!(
            renewed.renew_time,
            Some(MicroTime(t("2026-11-28T10:01:02Z")))
        );
    }
}
