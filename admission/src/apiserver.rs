//! Kubernetes writes (edge): the webhook registration and the certificate Secret (the status
//! Lease is `vpa_common::status_lease`'s). Each function does one API round trip (or a short get-then-write) and returns.

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::certs::{self, CertBundle, Published, Validity};
use crate::registration::{self, Registration};

/// Errors of the Kubernetes edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiServerError {
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
) -> Result<(), ApiServerError> {
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
    Err(ApiServerError::Conflict("MutatingWebhookConfiguration"))
}

/// The `caBundle` of the registered `vpa-webhook-config` (PEM), empty when it is not
/// registered or carries none.
pub async fn registered_ca_bundle(
    api: &Api<MutatingWebhookConfiguration>,
) -> Result<String, ApiServerError> {
    let config = api.get_opt(registration::WEBHOOK_CONFIG_NAME).await?;
    Ok(config
        .as_ref()
        .map(registration::registered_ca_bundle)
        .unwrap_or_default())
}

/// Reads the certificate Secret, creating it or writing a renewal when needed (one step of a CA
/// rotation at most, judged against `published`, see [`CertBundle::renewal`]), and returns the
/// bundle every replica should serve. When two replicas race, the one that loses re-reads and
/// adopts the winner's bundle, so all serve the same chain.
pub async fn load_or_rotate_secret(
    api: &Api<Secret>,
    name: &str,
    dns_names: &[String],
    validity: Validity,
    now: OffsetDateTime,
    published: Published<'_>,
) -> Result<CertBundle, ApiServerError> {
    for _ in 0..5 {
        let existing = api.get_opt(name).await?;
        let current = existing.as_ref().and_then(certs::from_secret);
        let next = match &current {
            Some(bundle) => match bundle.renewal(dns_names, now, validity, published) {
                Ok(None) => return Ok(bundle.clone()),
                Ok(Some(renewed)) => renewed,
                Err(e) => {
                    warn!(secret = name, error = %e, "Unreadable webhook certificates; generating new ones");
                    CertBundle::generate(dns_names, now, validity)?
                }
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
        certs::write_secret(&next, &mut secret);
        let result = match existing {
            Some(_) => api.replace(name, &PostParams::default(), &secret).await,
            None => api.create(&PostParams::default(), &secret).await,
        };
        match result {
            Ok(_) => {
                let step = current
                    .as_ref()
                    .map_or(RotationStep::Created, |c| RotationStep::between(c, &next));
                info!(secret = name, ?step, "Stored webhook certificates");
                return Ok(next);
            }
            Err(e) if is_status(&e, 409) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiServerError::Conflict("certificate Secret"))
}

/// What a stored renewal changed, for the log.
#[derive(Debug, PartialEq, Eq)]
enum RotationStep {
    /// No usable certificates were stored: new ones were made.
    Created,
    /// The staged CA now signs the served certificate.
    PromotedCa,
    /// A next CA was staged (trusted, not signing yet).
    StagedCa,
    /// The staged CA was seen in (or dropped from) the registered caBundle.
    StagedCaRegistration,
    /// Only the serving certificate was reissued (or an expired previous CA dropped).
    ServingCertificate,
}

impl RotationStep {
    fn between(old: &CertBundle, new: &CertBundle) -> Self {
        match (&old.next_ca, &new.next_ca) {
            _ if old.ca_cert_pem != new.ca_cert_pem => {
                if old.next_ca.as_ref().map(|n| &n.cert_pem) == Some(&new.ca_cert_pem) {
                    Self::PromotedCa
                } else {
                    Self::Created
                }
            }
            (None, Some(_)) => Self::StagedCa,
            (Some(a), Some(b)) if a.published_since != b.published_since => {
                Self::StagedCaRegistration
            }
            _ => Self::ServingCertificate,
        }
    }
}
