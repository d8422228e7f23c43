//! Admission-controller liveness through its status Lease (pure).
//!
//! The admission controller renews a Lease every 10 s. If it is down, new pods are admitted
//! unpatched (the webhook fails open), so evicting would only recreate pods with the same
//! requests. The updater therefore acts only while the Lease is fresh: created or renewed less
//! than the timeout (1 min) ago.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;

use crate::time::add;

/// Default name of the admission controller's status Lease.
pub const ADMISSION_LEASE_NAME: &str = "vpa-admission-controller";
/// Default staleness timeout of that Lease (1 min).
pub const ADMISSION_LEASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `lease` was created or renewed less than `timeout` before `now`.
pub fn is_fresh(lease: &Lease, now: Timestamp, timeout: Duration) -> bool {
    let created = lease.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let renewed = lease
        .spec
        .as_ref()
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0);
    [created, renewed]
        .into_iter()
        .flatten()
        .any(|t| add(t, timeout) > now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

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
        assert!(is_fresh(&lease(990, None), now, ADMISSION_LEASE_TIMEOUT));
        assert!(is_fresh(&lease(0, Some(950)), now, ADMISSION_LEASE_TIMEOUT));
        assert!(!is_fresh(
            &lease(0, Some(940)),
            now,
            ADMISSION_LEASE_TIMEOUT
        ));
        assert!(!is_fresh(&lease(0, None), now, ADMISSION_LEASE_TIMEOUT));
        assert!(!is_fresh(&Lease::default(), now, ADMISSION_LEASE_TIMEOUT));
    }
}
