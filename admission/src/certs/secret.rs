//! The certificates as a Secret (pure): upstream's four keys of `vpa-tls-certs` (`caCert.pem`,
//! `caKey.pem`, `serverCert.pem`, `serverKey.pem`, as `gencerts.sh` writes them), plus ours
//! during a CA rotation: `nextCaCert.pem` / `nextCaKey.pem` for the staged CA with the time it
//! was first seen registered in the annotation [`NEXT_CA_PUBLISHED_SINCE`], and
//! `previousCaCert.pem` for the replaced CA.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use time::OffsetDateTime;

use super::{CertBundle, StagedCa, keys};

/// Annotation of the Secret: since when the staged CA (`nextCaCert.pem`) has been in the
/// registered `caBundle`, RFC 3339, whole seconds.
pub const NEXT_CA_PUBLISHED_SINCE: &str = "vpa-rs.io/next-ca-published-since";

/// Reads a bundle from a Secret; `None` when one of the four upstream keys is missing or not
/// UTF-8. A staged CA missing its key is ignored; one whose annotation is missing or unreadable
/// counts as not yet seen registered.
pub fn from_secret(secret: &Secret) -> Option<CertBundle> {
    let data = secret.data.as_ref()?;
    let get = |key: &str| {
        data.get(key)
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
    };
    let next_ca = match (get(keys::NEXT_CA_CERT), get(keys::NEXT_CA_KEY)) {
        (Some(cert_pem), Some(key_pem)) => Some(StagedCa {
            cert_pem,
            key_pem,
            published_since: secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(NEXT_CA_PUBLISHED_SINCE))
                .and_then(|t| parse_time(t)),
        }),
        _ => None,
    };
    Some(CertBundle {
        ca_cert_pem: get(keys::CA_CERT)?,
        ca_key_pem: get(keys::CA_KEY)?,
        server_cert_pem: get(keys::SERVER_CERT)?,
        server_key_pem: get(keys::SERVER_KEY)?,
        next_ca,
        previous_ca_cert_pem: get(keys::PREVIOUS_CA_CERT),
    })
}

/// Writes `bundle` into `secret`: its `data` is replaced, the annotation
/// [`NEXT_CA_PUBLISHED_SINCE`] set or removed, other metadata kept.
pub fn write_secret(bundle: &CertBundle, secret: &mut Secret) {
    let mut data = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        data.insert(key.to_string(), ByteString(value.as_bytes().to_vec()));
    };
    put(keys::CA_CERT, &bundle.ca_cert_pem);
    put(keys::CA_KEY, &bundle.ca_key_pem);
    put(keys::SERVER_CERT, &bundle.server_cert_pem);
    put(keys::SERVER_KEY, &bundle.server_key_pem);
    if let Some(next) = &bundle.next_ca {
        put(keys::NEXT_CA_CERT, &next.cert_pem);
        put(keys::NEXT_CA_KEY, &next.key_pem);
    }
    if let Some(prev) = &bundle.previous_ca_cert_pem {
        put(keys::PREVIOUS_CA_CERT, prev);
    }
    secret.data = Some(data);
    let since = bundle.next_ca.as_ref().and_then(|n| n.published_since);
    let annotations = secret
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    match since.and_then(format_time) {
        Some(text) => {
            annotations.insert(NEXT_CA_PUBLISHED_SINCE.to_string(), text);
        }
        None => {
            annotations.remove(NEXT_CA_PUBLISHED_SINCE);
        }
    }
    if annotations.is_empty() {
        secret.metadata.annotations = None;
    }
}

fn format_time(t: OffsetDateTime) -> Option<String> {
    Timestamp::from_second(t.unix_timestamp())
        .ok()
        .map(|t| t.to_string())
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let t: Timestamp = text.parse().ok()?;
    OffsetDateTime::from_unix_timestamp(t.as_second()).ok()
}
