//! Leader election on a `coordination.k8s.io/v1` Lease, so only one updater replica acts.
//!
//! [`decide`] is pure: given the Lease, who we are and the time, it says whether to create,
//! take over, renew or wait. [`LeaderElector`] is the edge: it applies that decision with
//! optimistic concurrency (a conflicting write means someone else won), renews every retry
//! period, and reports leadership lost when no renewal succeeded within the renew deadline —
//! the process then exits, as upstream. On shutdown the Lease is released.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::time::{add, now};

/// Settings from the `--leader-elect-*` flags.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderConfig {
    /// Lease name (`vpa-updater`).
    pub name: String,
    /// Lease namespace (`kube-system`).
    pub namespace: String,
    /// Validity of a Lease without renewal (15s).
    pub lease_duration: Duration,
    /// Leadership is lost when no renewal succeeded for this long (10s).
    pub renew_deadline: Duration,
    /// Time between attempts (2s).
    pub retry_period: Duration,
}

/// What to do with the Lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderAction {
    /// No Lease exists: create it holding it.
    Create,
    /// The Lease is free or expired: take it over.
    Acquire,
    /// We hold it: renew.
    Renew,
    /// Someone else holds a valid Lease.
    Wait,
}

/// Decides what `identity` should do with `lease` at `now`.
pub fn decide(
    lease: Option<&Lease>,
    identity: &str,
    now: Timestamp,
    default_duration: Duration,
) -> LeaderAction {
    let Some(lease) = lease else {
        return LeaderAction::Create;
    };
    let spec = lease.spec.clone().unwrap_or_default();
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == identity => return LeaderAction::Renew,
        None | Some("") => return LeaderAction::Acquire,
        Some(_) => {}
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(default_duration, Duration::from_secs);
    let last = spec.renew_time.or(spec.acquire_time).map(|t| t.0);
    match last {
        Some(t) if add(t, duration) > now => LeaderAction::Wait,
        _ => LeaderAction::Acquire,
    }
}

/// The Lease spec held by `identity` as of `now`, based on `previous`.
pub fn held_spec(
    previous: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    duration: Duration,
) -> LeaseSpec {
    let previous = previous.cloned().unwrap_or_default();
    let ours = previous.holder_identity.as_deref() == Some(identity);
    LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: if ours {
            previous.acquire_time.clone()
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(
            previous.lease_transitions.unwrap_or(0)
                + i32::from(!ours && previous.holder_identity.is_some()),
        ),
        ..previous
    }
}

/// Leadership was lost: no renewal succeeded within the renew deadline.
#[derive(Debug, thiserror::Error)]
#[error("leader election lost: Lease {0} not renewed within the renew deadline")]
pub struct LostLeadership(String);

/// Acquires and keeps the Lease through the API server.
pub struct LeaderElector {
    api: Api<Lease>,
    identity: String,
    config: LeaderConfig,
}

/// `<hostname>_<random>`, as upstream's `<hostname>_<uuid>`.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "vpa-updater".into());
    let nanos = now().as_nanosecond();
    format!("{host}_{:x}{:x}", nanos as u64, std::process::id())
}

impl LeaderElector {
    /// An elector for `config` as `identity`.
    pub fn new(client: Client, identity: String, config: LeaderConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            identity,
            config,
        }
    }

    /// One attempt: returns whether we hold the Lease afterwards.
    async fn try_hold(&self) -> Result<bool, kube::Error> {
        let current = self.api.get_opt(&self.config.name).await?;
        let t = now();
        match decide(
            current.as_ref(),
            &self.identity,
            t,
            self.config.lease_duration,
        ) {
            LeaderAction::Wait => Ok(false),
            LeaderAction::Create => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(held_spec(
                        None,
                        &self.identity,
                        t,
                        self.config.lease_duration,
                    )),
                };
                match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
            LeaderAction::Acquire | LeaderAction::Renew => {
                let mut lease = current.expect("decided on an existing Lease");
                lease.spec = Some(held_spec(
                    lease.spec.as_ref(),
                    &self.identity,
                    t,
                    self.config.lease_duration,
                ));
                match self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Waits until this replica leads.
    pub async fn acquire(&self) {
        info!(identity = %self.identity, lease = %self.config.name, "Waiting for leadership");
        loop {
            match self.try_hold().await {
                Ok(true) => {
                    info!(identity = %self.identity, "Became leader");
                    return;
                }
                Ok(false) => debug!("Lease held by another replica"),
                Err(error) => warn!(%error, "Cannot read or write the leader Lease"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews forever; returns when leadership is lost.
    pub async fn hold(&self) -> LostLeadership {
        let mut last_renewal = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_hold().await {
                Ok(true) => last_renewal = Instant::now(),
                Ok(false) => return LostLeadership(self.config.name.clone()),
                Err(error) => warn!(%error, "Cannot renew the leader Lease"),
            }
            if last_renewal.elapsed() > self.config.renew_deadline {
                return LostLeadership(self.config.name.clone());
            }
        }
    }

    /// Gives the Lease up so another replica takes over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(now()));
        if let Err(error) = self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            warn!(%error, "Cannot release the leader Lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn lease(holder: Option<&str>, renewed: i64) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(Into::into),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(at(renewed))),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn leases_are_created_renewed_taken_over_or_respected() {
        let d = Duration::from_secs(15);
        assert_eq!(decide(None, "me", at(100), d), LeaderAction::Create);
        assert_eq!(
            decide(Some(&lease(Some("me"), 90)), "me", at(100), d),
            LeaderAction::Renew
        );
        assert_eq!(
            decide(Some(&lease(Some("other"), 90)), "me", at(100), d),
            LeaderAction::Wait
        );
        assert_eq!(
            decide(Some(&lease(Some("other"), 80)), "me", at(100), d),
            LeaderAction::Acquire
        );
        assert_eq!(
            decide(Some(&lease(None, 99)), "me", at(100), d),
            LeaderAction::Acquire
        );
    }

    #[test]
    fn taking_over_counts_a_transition_and_renewing_keeps_the_acquire_time() {
        let d = Duration::from_secs(15);
        let theirs = lease(Some("other"), 80).spec.unwrap();
        let taken = held_spec(Some(&theirs), "me", at(100), d);
        assert_eq!(taken.holder_identity.as_deref(), Some("me"));
        assert_eq!(taken.lease_transitions, Some(1));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(100))));
        let renewed = held_spec(Some(&taken), "me", at(110), d);
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(100))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(110))));
        assert_eq!(renewed.lease_transitions, Some(1));
    }
}
