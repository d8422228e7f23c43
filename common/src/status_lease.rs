//! The admission controller's status Lease: the admission controller renews it every
//! `--status-lease-update-interval` (10 s) while it serves; the updater evicts only while it is
//! fresh, because with the webhook down (it fails open) a replacement pod would come back with
//! the same requests. Building and judging the Lease is pure; [`renew`] is the edge.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

/// Default name of the Lease (`--status-lease-name`, `--admission-controller-status-lease-name`).
pub const DEFAULT_NAME: &str = "vpa-admission-controller";
/// `leaseDurationSeconds` the admission controller writes.
pub const DURATION_SECONDS: i32 = 60;
/// Default staleness timeout the updater applies (`--admission-controller-status-lease-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The Lease `name` as renewed by `holder` at `now`, valid for `duration_seconds`, from the
/// current one (`base`) if there is one: its acquire time is kept.
pub fn lease_at(
    name: &str,
    holder: &str,
    duration_seconds: i32,
    now: Timestamp,
    base: Option<Lease>,
) -> Lease {
    let mut lease = base.unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        spec: None,
    });
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = Some(holder.to_string());
    spec.lease_duration_seconds = Some(duration_seconds);
    spec.renew_time = Some(MicroTime(now));
    if spec.acquire_time.is_none() {
        spec.acquire_time = Some(MicroTime(now));
    }
    lease
}

/// Renews (or creates) the Lease `name` once.
pub async fn renew(
    api: &Api<Lease>,
    name: &str,
    holder: &str,
    duration_seconds: i32,
) -> Result<(), kube::Error> {
    let existing = api.get_opt(name).await?;
    let lease = lease_at(
        name,
        holder,
        duration_seconds,
        Timestamp::now(),
        existing.clone(),
    );
    match existing {
        Some(_) => api.replace(name, &PostParams::default(), &lease).await?,
        None => api.create(&PostParams::default(), &lease).await?,
    };
    Ok(())
}

/// Whether `lease` was created or renewed less than `timeout` before `now`.
pub fn is_fresh(lease: &Lease, now: Timestamp, timeout: Duration) -> bool {
    let created = lease.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let renewed = lease
        .spec
        .as_ref()
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0);
    let timeout = SignedDuration::try_from(timeout).unwrap_or(SignedDuration::MAX);
    [created, renewed]
        .into_iter()
        .flatten()
        .any(|t| match t.checked_add(timeout) {
            Ok(end) => end > now,
            // Past the largest timestamp: fresh for ever.
            Err(_) => true,
        })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    #[test]
    fn lease_renewal_keeps_acquire_time_and_moves_renew_time() {
        let t1 = Timestamp::from_second(1_000).unwrap();
        let t2 = Timestamp::from_second(1_010).unwrap();
        let first = lease_at(DEFAULT_NAME, "pod-a", 60, t1, None);
        let second = lease_at(DEFAULT_NAME, "pod-a", 60, t2, Some(first));
        let spec = second.spec.unwrap();
        assert_eq!(spec.acquire_time, Some(MicroTime(t1)));
        assert_eq!(spec.renew_time, Some(MicroTime(t2)));
        assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
    }

    fn lease(created: i64, renewed: Option<i64>) -> Lease {
        Lease {
            metadata: ObjectMeta {
                creation_timestamp: Some(Time(Timestamp::from_second(created).unwrap())),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                renew_time: renewed.map(|s| MicroTime(Timestamp::from_second(s).unwrap())),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn fresh_while_created_or_renewed_within_the_timeout() {
        let now = Timestamp::from_second(1000).unwrap();
        assert!(is_fresh(&lease(990, None), now, DEFAULT_TIMEOUT));
        assert!(is_fresh(&lease(0, Some(950)), now, DEFAULT_TIMEOUT));
        assert!(!is_fresh(&lease(0, Some(940)), now, DEFAULT_TIMEOUT));
        assert!(!is_fresh(&lease(0, None), now, DEFAULT_TIMEOUT));
        assert!(!is_fresh(&Lease::default(), now, DEFAULT_TIMEOUT));
    }
}
