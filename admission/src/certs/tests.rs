//! Certificate generation, renewal decisions and the swappable store.

use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use super::store::suite_allowed;
use super::*;

fn names() -> Vec<String> {
    service_dns_names("vpa-webhook", "kube-system")
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

#[test]
fn generated_bundle_has_ca_and_serving_cert_for_the_service() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    assert!(b.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(b.server_key_pem.contains("PRIVATE KEY"));
    assert_eq!(b.server_not_after().unwrap(), t0() + Duration::days(365));
    assert_eq!(b.ca_not_after().unwrap(), t0() + Duration::days(3650));
    assert!(b.server_names_match(&names()).unwrap());
    assert_eq!(b.ca_bundle(), b.ca_cert_pem);
}

#[test]
fn fresh_bundle_needs_no_renewal() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    assert_eq!(
        b.renewal(
            &names(),
            t0() + Duration::days(200),
            Validity::default(),
            Published::Bundle(&b.ca_bundle())
        )
        .unwrap(),
        None
    );
}

#[test]
fn serving_cert_is_renewed_with_the_same_ca_before_expiry() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    let later = t0() + Duration::days(300);
    let r = b
        .renewal(&names(), later, Validity::default(), Published::Untracked)
        .unwrap()
        .expect("renewed");
    assert_eq!(r.ca_cert_pem, b.ca_cert_pem);
    assert_ne!(r.server_cert_pem, b.server_cert_pem);
    assert_eq!(r.server_not_after().unwrap(), later + Duration::days(365));
    assert_eq!(r.previous_ca_cert_pem, None);
}

#[test]
fn changed_service_name_reissues_the_serving_cert() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    let other = service_dns_names("vpa-webhook", "vpa-system");
    let r = b
        .renewal(&other, t0(), Validity::default(), Published::Untracked)
        .unwrap()
        .expect("reissued");
    assert!(r.server_names_match(&other).unwrap());
}

#[test]
fn store_swaps_certificates_and_reports_ca_changes() {
    crate::install_crypto();
    let store = Arc::new(CertStore::new());
    assert!(!store.is_loaded());
    let a = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    assert!(
        store
            .install(&a.server_cert_pem, &a.server_key_pem, &a.ca_bundle())
            .unwrap()
    );
    assert!(store.is_loaded());
    let renewed = a
        .renewal(
            &names(),
            t0() + Duration::days(300),
            Validity::default(),
            Published::Untracked,
        )
        .unwrap()
        .unwrap();
    assert!(
        !store
            .install(
                &renewed.server_cert_pem,
                &renewed.server_key_pem,
                &renewed.ca_bundle()
            )
            .unwrap()
    );
    assert!(store.install("garbage", "garbage", "x").is_err());
    assert!(server_config(store, &TlsOptions::default()).is_ok());
}

#[test]
fn tls_options_parse_upstream_flags() {
    assert!(!TlsOptions::parse("tls1_2", "").unwrap().tls13_only);
    assert!(TlsOptions::parse("tls1_3", "").unwrap().tls13_only);
    assert!(TlsOptions::parse("tls1_1", "").is_err());
    let o = TlsOptions::parse(
        "",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    )
    .unwrap();
    assert_eq!(o.ciphers.len(), 2);
    assert!(suite_allowed(
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        &o.ciphers
    ));
    assert!(!suite_allowed(
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        &o.ciphers
    ));
}

fn secret_of(data: &[(&str, &str)]) -> Secret {
    Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

#[test]
fn secret_round_trips_and_needs_all_four_keys() {
    let mut b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    b.previous_ca_cert_pem = Some("previous".into());
    b.next_ca = Some(StagedCa {
        cert_pem: "next".into(),
        key_pem: "next key".into(),
        published_since: Some(t0()),
    });
    let mut secret = Secret::default();
    write_secret(&b, &mut secret);
    assert_eq!(from_secret(&secret), Some(b.clone()));
    assert_eq!(
        secret.metadata.annotations.as_ref().unwrap()[NEXT_CA_PUBLISHED_SINCE],
        "2027-01-15T08:00:00Z"
    );
    // Not yet seen registered: no annotation.
    b.next_ca.as_mut().unwrap().published_since = None;
    write_secret(&b, &mut secret);
    assert_eq!(secret.metadata.annotations, None);
    assert_eq!(from_secret(&secret), Some(b));
    secret.data.as_mut().unwrap().remove(keys::SERVER_KEY);
    assert_eq!(from_secret(&secret), None);
}

#[test]
fn secret_with_upstreams_four_keys_loads_and_renews_in_place() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    // As upstream's gencerts.sh writes it: four keys, no annotation.
    let secret = secret_of(&[
        (keys::CA_CERT, &b.ca_cert_pem),
        (keys::CA_KEY, &b.ca_key_pem),
        (keys::SERVER_CERT, &b.server_cert_pem),
        (keys::SERVER_KEY, &b.server_key_pem),
    ]);
    let loaded = from_secret(&secret).expect("upstream Secret loads");
    assert_eq!(loaded, b);
    assert_eq!(loaded.ca_bundle(), b.ca_cert_pem);
    let later = t0() + Duration::days(300);
    let renewed = loaded
        .renewal(&names(), later, Validity::default(), Published::Untracked)
        .unwrap()
        .expect("serving certificate renewed");
    assert_eq!(renewed.ca_cert_pem, b.ca_cert_pem);
    assert_eq!(renewed.next_ca, None);
    // A staged CA without its key is ignored rather than half-loaded.
    let partial = secret_of(&[
        (keys::CA_CERT, &b.ca_cert_pem),
        (keys::CA_KEY, &b.ca_key_pem),
        (keys::SERVER_CERT, &b.server_cert_pem),
        (keys::SERVER_KEY, &b.server_key_pem),
        (keys::NEXT_CA_CERT, &b.ca_cert_pem),
    ]);
    assert_eq!(from_secret(&partial).unwrap().next_ca, None);
}
