//! Kubernetes writes (edge): the webhook registration, the certificate Secret and the status
//! Lease. Each function does one API round trip (or a short get-then-write) and returns.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use time::OffsetDateTime;
use tracing::info;

use crate::certs::{self, CertBundle, Validity};
use crate::registration::{self, Registration};

/// Errors of the Kubernetes edge.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The API server refused or failed.
    #[error("kubernetes API: {0}")]
    Api(#[from] kube::Error),
    /// Certificates could not be made or read.
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    /// Others kept writing the same object.
    #[error("gave up after repeated conflicts writing {0}")]
    Conflict(&'static str),
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Creates `vpa-webhook-config`, or replaces it when it exists, trusting `ca_bundle`.
pub async fn register_webhook(
    api: &Api<MutatingWebhookConfiguration>,
    reg: &Registration,
    ca_bundle: &str,
) -> Result<(), ClusterError> {
    let mut desired = registration::webhook_configuration(reg, ca_bundle);
    for _ in 0..5 {
        match api.get_opt(registration::WEBHOOK_CONFIG_NAME).await? {
            None => match api.create(&PostParams::default(), &desired).await {
                Ok(_) => return Ok(()),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(e.into()),
            },
            Some(existing) => {
                desired.metadata.resource_version = existing.metadata.resource_version.clone();
                match api
                    .replace(
                        registration::WEBHOOK_CONFIG_NAME,
                        &PostParams::default(),
                        &desired,
                    )
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(e) if is_status(&e, 409) || is_status(&e, 404) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Err(ClusterError::Conflict("MutatingWebhookConfiguration"))
}

/// Reads the certificate Secret, creating it or writing a renewal when needed, and returns the
/// bundle every replica should serve. When two replicas race, the one that loses re-reads and
/// adopts the winner's bundle, so all serve the same chain.
pub async fn load_or_rotate_secret(
    api: &Api<Secret>,
    name: &str,
    dns_names: &[String],
    validity: Validity,
    now: OffsetDateTime,
) -> Result<CertBundle, ClusterError> {
    for _ in 0..5 {
        let existing = api.get_opt(name).await?;
        let current = existing
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .and_then(certs::from_secret_data);
        let next = match &current {
            Some(bundle) => match bundle.renewal(dns_names, now, validity) {
                Ok(None) => return Ok(bundle.clone()),
                Ok(Some(renewed)) => renewed,
                Err(_) => CertBundle::generate(dns_names, now, validity)?,
            },
            None => CertBundle::generate(dns_names, now, validity)?,
        };
        let mut secret = existing.clone().unwrap_or_else(|| Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            ..Default::default()
        });
        secret.data = Some(certs::to_secret_data(&next));
        let result = match existing {
            Some(_) => api.replace(name, &PostParams::default(), &secret).await,
            None => api.create(&PostParams::default(), &secret).await,
        };
        match result {
            Ok(_) => {
                info!(
                    secret = name,
                    rotated_ca = next.previous_ca_cert_pem.is_some(),
                    "Stored webhook certificates"
                );
                return Ok(next);
            }
            Err(e) if is_status(&e, 409) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ClusterError::Conflict("certificate Secret"))
}

/// The status Lease as renewed now by `holder`, valid for `duration_seconds`.
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

/// Renews (or creates) the status Lease once.
pub async fn renew_lease(
    api: &Api<Lease>,
    name: &str,
    holder: &str,
    duration_seconds: i32,
) -> Result<(), ClusterError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_renewal_keeps_acquire_time_and_moves_renew_time() {
        let t1 = Timestamp::from_second(1_000).unwrap();
        let t2 = Timestamp::from_second(1_010).unwrap();
        let first = lease_at("vpa-admission-controller", "pod-a", 60, t1, None);
        let second = lease_at("vpa-admission-controller", "pod-a", 60, t2, Some(first));
        let spec = second.spec.unwrap();
        assert_eq!(spec.acquire_time, Some(MicroTime(t1)));
        assert_eq!(spec.renew_time, Some(MicroTime(t2)));
        assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
    }
}
