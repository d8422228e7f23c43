//! The webhook's certificates (pure): a CA and a serving certificate made with rcgen (ECDSA
//! P-256), the decision when to renew them, and their rustls form.
//!
//! Rotation keeps clients working throughout: the serving certificate is renewed with the same CA
//! well before it expires; when the CA itself nears its end a new CA is made and the old one stays
//! in the CA bundle (`caBundle` of the webhook) until it expires, so a kube-apiserver that has not
//! yet seen the new bundle still trusts whatever certificate a replica serves.

mod store;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

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
    /// Replace the CA when it has less than this left (must exceed `server`).
    pub ca_renew_before: Duration,
}

impl Default for Validity {
    /// CA 10 years, replaced with 2 years left; serving certificate 1 year, renewed with 90 days
    /// left.
    fn default() -> Self {
        Self {
            ca: Duration::days(3650),
            server: Duration::days(365),
            server_renew_before: Duration::days(90),
            ca_renew_before: Duration::days(730),
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

/// A CA, the serving certificate it signed, and an older CA still trusted (all PEM).
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
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let params = ca_params(now, validity.ca)?;
        let ca_cert = params.self_signed(&ca_key)?;
        let ca_key_pem = ca_key.serialize_pem();
        let issuer = Issuer::new(params, ca_key);
        let (server_cert_pem, server_key_pem) =
            server_cert(dns_names, now, validity.server, &issuer)?;
        Ok(Self {
            ca_cert_pem: ca_cert.pem(),
            ca_key_pem,
            server_cert_pem,
            server_key_pem,
            previous_ca_cert_pem: None,
        })
    }

    /// The CAs a client should trust: the current one and, during a rotation, the previous one.
    pub fn ca_bundle(&self) -> String {
        let mut out = self.ca_cert_pem.clone();
        if let Some(prev) = &self.previous_ca_cert_pem {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(prev);
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

    /// The bundle to switch to at `now`, or `None` when this one is still good. The serving
    /// certificate is renewed when it nears expiry or lacks one of `dns_names`; the CA is
    /// replaced when it nears expiry (the old CA moves to `previous_ca_cert_pem`); an expired
    /// previous CA is dropped.
    pub fn renewal(
        &self,
        dns_names: &[String],
        now: OffsetDateTime,
        validity: Validity,
    ) -> Result<Option<Self>, CertError> {
        let mut next = self.clone();
        let mut changed = false;
        if let Some(prev) = &self.previous_ca_cert_pem
            && parse(prev).map(|p| p.not_after <= now).unwrap_or(true)
        {
            next.previous_ca_cert_pem = None;
            changed = true;
        }
        if self.ca_not_after()? - now < validity.ca_renew_before {
            let fresh = Self::generate(dns_names, now, validity)?;
            return Ok(Some(Self {
                previous_ca_cert_pem: Some(self.ca_cert_pem.clone()),
                ..fresh
            }));
        }
        let server_due = self.server_not_after()? - now < validity.server_renew_before;
        if server_due || !self.server_names_match(dns_names)? {
            let ca_key = KeyPair::from_pem(&self.ca_key_pem)?;
            let issuer = Issuer::from_ca_cert_pem(&self.ca_cert_pem, ca_key)?;
            let (cert, key) = server_cert(dns_names, now, validity.server, &issuer)?;
            next.server_cert_pem = cert;
            next.server_key_pem = key;
            changed = true;
        }
        Ok(changed.then_some(next))
    }
}

/// Secret `data` as upstream names it (`caCert.pem`, `caKey.pem`, `serverCert.pem`,
/// `serverKey.pem`), plus `previousCaCert.pem` during a CA rotation.
pub fn to_secret_data(bundle: &CertBundle) -> BTreeMap<String, ByteString> {
    let mut data = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        data.insert(key.to_string(), ByteString(value.as_bytes().to_vec()));
    };
    put(keys::CA_CERT, &bundle.ca_cert_pem);
    put(keys::CA_KEY, &bundle.ca_key_pem);
    put(keys::SERVER_CERT, &bundle.server_cert_pem);
    put(keys::SERVER_KEY, &bundle.server_key_pem);
    if let Some(prev) = &bundle.previous_ca_cert_pem {
        put(keys::PREVIOUS_CA_CERT, prev);
    }
    data
}

/// Reads a bundle from Secret `data`; `None` when one of the four upstream keys is missing or
/// not UTF-8.
pub fn from_secret_data(data: &BTreeMap<String, ByteString>) -> Option<CertBundle> {
    let get = |key: &str| {
        data.get(key)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
    };
    Some(CertBundle {
        ca_cert_pem: get(keys::CA_CERT)?,
        ca_key_pem: get(keys::CA_KEY)?,
        server_cert_pem: get(keys::SERVER_CERT)?,
        server_key_pem: get(keys::SERVER_KEY)?,
        previous_ca_cert_pem: get(keys::PREVIOUS_CA_CERT),
    })
}

#[cfg(test)]
mod tests;
