//! The webhook's certificates (pure): a CA and a serving certificate made with rcgen (ECDSA
//! P-256), the decision when to renew them ([`rotation`]), their Secret form ([`secret`]) and
//! their rustls form ([`store`]).
//!
//! Rotation keeps clients working throughout: the serving certificate is renewed with the same CA
//! well before it expires; when the CA itself nears its end the next CA is first only *staged*
//! (added to the CA bundle, the webhook's `caBundle`, while the served certificate is still
//! signed by the current CA), and only once kube-apiserver has trusted it for a propagation delay
//! does it sign the served certificate. The replaced CA stays in the bundle until it expires, so
//! a replica that has not yet reloaded is trusted as well.

mod rotation;
mod secret;
mod store;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

pub use rotation::Published;
pub use secret::{NEXT_CA_PUBLISHED_SINCE, from_secret, write_secret};
pub use store::{CertStore, TlsOptions, server_config};

/// Common name of the generated CA (upstream's `gencerts.sh` name).
pub const CA_COMMON_NAME: &str = "vpa_webhook_ca";

/// Secret keys, as upstream's `vpa-tls-certs`.
pub mod keys {
    /// The CA certificate (PEM).
    pub const CA_CERT: &str = "caCert.pem";
    /// The CA private key (PEM).
    pub const CA_KEY: &str = "caKey.pem";
    /// The serving certificate (PEM).
    pub const SERVER_CERT: &str = "serverCert.pem";
    /// The serving private key (PEM).
    pub const SERVER_KEY: &str = "serverKey.pem";
    /// The CA replaced by the last CA rotation, still trusted until it expires (PEM; ours).
    pub const PREVIOUS_CA_CERT: &str = "previousCaCert.pem";
    /// The CA staged to replace the current one, already trusted but not yet signing (PEM; ours).
    pub const NEXT_CA_CERT: &str = "nextCaCert.pem";
    /// The staged CA's private key (PEM; ours).
    pub const NEXT_CA_KEY: &str = "nextCaKey.pem";
}

/// Lifetimes and renewal margins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Lifetime of a new CA.
    pub ca: Duration,
    /// Lifetime of a new serving certificate.
    pub server: Duration,
    /// Renew the serving certificate when it has less than this left.
    pub server_renew_before: Duration,
    /// Stage the next CA when the current one has less than this left (must exceed `server`
    /// plus `ca_propagation`, so that no serving certificate outlives its CA).
    pub ca_renew_before: Duration,
    /// How long a staged CA must have been in the registered `caBundle` before it signs the
    /// served certificate: the time kube-apiserver (every instance of it) takes to pick up a
    /// changed webhook configuration, with a margin.
    pub ca_propagation: Duration,
}

impl Default for Validity {
    /// CA 10 years, replaced with 2 years left after a 10-minute propagation delay; serving
    /// certificate 1 year, renewed with 90 days left.
    fn default() -> Self {
        Self {
            ca: Duration::days(3650),
            server: Duration::days(365),
            server_renew_before: Duration::days(90),
            ca_renew_before: Duration::days(730),
            ca_propagation: Duration::minutes(10),
        }
    }
}

/// Errors making or reading certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen failed to make or parse a certificate or key.
    #[error("certificate generation: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM block is missing or unreadable.
    #[error("unreadable PEM for {what}: {detail}")]
    Pem {
        /// Which item.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// rustls refused the key or configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// A CA generated ahead of a CA rotation: trusted (in the CA bundle) but not yet signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedCa {
    /// The CA certificate (PEM).
    pub cert_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
    /// Since when it is known to be in the `caBundle` kube-apiserver uses; `None` until that
    /// was seen.
    pub published_since: Option<OffsetDateTime>,
}

/// A CA, the serving certificate it signed, the CA staged to replace it and an older CA still
/// trusted (all PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertBundle {
    /// Current CA certificate.
    pub ca_cert_pem: String,
    /// Current CA key.
    pub ca_key_pem: String,
    /// Serving certificate (leaf only).
    pub server_cert_pem: String,
    /// Serving key.
    pub server_key_pem: String,
    /// The CA staged by a CA rotation in progress.
    pub next_ca: Option<StagedCa>,
    /// The CA before the last rotation, while it is still valid.
    pub previous_ca_cert_pem: Option<String>,
}

fn ca_params(now: OffsetDateTime, lifetime: Duration) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + lifetime;
    Ok(params)
}

fn server_cert(
    dns_names: &[String],
    now: OffsetDateTime,
    lifetime: Duration,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(String, String), CertError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(dns_names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        dns_names.first().cloned().unwrap_or_default(),
    );
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + lifetime;
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A new self-signed CA valid from `now` for `validity.ca`: (certificate, key), PEM.
fn generate_ca(now: OffsetDateTime, validity: Validity) -> Result<(String, String), CertError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = ca_params(now, validity.ca)?.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A new serving certificate for `dns_names` signed by the CA `ca_cert_pem` / `ca_key_pem`,
/// valid from `now` for `validity.server`: (certificate, key), PEM.
fn sign_server_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    dns_names: &[String],
    now: OffsetDateTime,
    validity: Validity,
) -> Result<(String, String), CertError> {
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, KeyPair::from_pem(ca_key_pem)?)?;
    server_cert(dns_names, now, validity.server, &issuer)
}

/// What renewal needs to know about a certificate.
struct CertInfo {
    not_after: OffsetDateTime,
    dns_names: Vec<String>,
    ips: Vec<std::net::IpAddr>,
}

fn parse(pem: &str) -> Result<CertInfo, CertError> {
    let bad = |detail: String| CertError::Pem {
        what: "certificate",
        detail,
    };
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let cert = block.parse_x509().map_err(|e| bad(e.to_string()))?;
    let mut info = CertInfo {
        not_after: cert.validity().not_after.to_datetime(),
        dns_names: Vec::new(),
        ips: Vec::new(),
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => {
                    info.dns_names.push(d.to_string())
                }
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*b) {
                        info.ips.push(v4.into());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*b) {
                        info.ips.push(v6.into());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(info)
}

/// The DNS names a serving certificate for Service `service` in `namespace` must carry.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        format!("{service}.{namespace}"),
        service.to_string(),
    ]
}

impl CertBundle {
    /// A new CA and a serving certificate for `dns_names`, valid from `now`.
    pub fn generate(
        dns_names: &[String],
        now: OffsetDateTime,
        validity: Validity,
    ) -> Result<Self, CertError> {
        let (ca_cert_pem, ca_key_pem) = generate_ca(now, validity)?;
        let (server_cert_pem, server_key_pem) =
            sign_server_cert(&ca_cert_pem, &ca_key_pem, dns_names, now, validity)?;
        Ok(Self {
            ca_cert_pem,
            ca_key_pem,
            server_cert_pem,
            server_key_pem,
            next_ca: None,
            previous_ca_cert_pem: None,
        })
    }

    /// The CAs a client should trust: the current one, the staged next one and the previous
    /// one, those present, in that order.
    pub fn ca_bundle(&self) -> String {
        let mut out = self.ca_cert_pem.clone();
        let others = [
            self.next_ca.as_ref().map(|n| n.cert_pem.as_str()),
            self.previous_ca_cert_pem.as_deref(),
        ];
        for pem in others.into_iter().flatten() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(pem);
        }
        out
    }

    /// When the serving certificate expires.
    pub fn server_not_after(&self) -> Result<OffsetDateTime, CertError> {
        Ok(parse(&self.server_cert_pem)?.not_after)
    }

    /// When the CA expires.
    pub fn ca_not_after(&self) -> Result<OffsetDateTime, CertError> {
        Ok(parse(&self.ca_cert_pem)?.not_after)
    }

    fn server_names_match(&self, dns_names: &[String]) -> Result<bool, CertError> {
        let info = parse(&self.server_cert_pem)?;
        Ok(dns_names
            .iter()
            .all(|name| match name.parse::<std::net::IpAddr>() {
                Ok(ip) => info.ips.contains(&ip),
                Err(_) => info.dns_names.iter().any(|d| d == name),
            }))
    }
}

#[cfg(test)]
mod tests;
