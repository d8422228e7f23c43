//! Certificate generation, renewal decisions and the swappable store.

use std::sync::Arc;

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
        b.renewal(&names(), t0() + Duration::days(200), Validity::default())
            .unwrap(),
        None
    );
}

#[test]
fn serving_cert_is_renewed_with_the_same_ca_before_expiry() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    let later = t0() + Duration::days(300);
    let r = b
        .renewal(&names(), later, Validity::default())
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
        .renewal(&other, t0(), Validity::default())
        .unwrap()
        .expect("reissued");
    assert!(r.server_names_match(&other).unwrap());
}

#[test]
fn ca_rotation_keeps_old_ca_in_bundle_until_it_expires() {
    let v = Validity::default();
    let b = CertBundle::generate(&names(), t0(), v).unwrap();
    let near_ca_end = t0() + Duration::days(3650 - 700);
    let r = b
        .renewal(&names(), near_ca_end, v)
        .unwrap()
        .expect("rotated");
    assert_ne!(r.ca_cert_pem, b.ca_cert_pem);
    assert_eq!(
        r.previous_ca_cert_pem.as_deref(),
        Some(b.ca_cert_pem.as_str())
    );
    assert!(r.ca_bundle().contains(&b.ca_cert_pem) && r.ca_bundle().contains(&r.ca_cert_pem));
    let after_old_ca = t0() + Duration::days(3651);
    let dropped = r
        .renewal(&names(), after_old_ca, v)
        .unwrap()
        .expect("old CA dropped");
    assert_eq!(dropped.previous_ca_cert_pem, None);
    assert_eq!(dropped.ca_cert_pem, r.ca_cert_pem);
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
        .renewal(&names(), t0() + Duration::days(300), Validity::default())
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

#[test]
fn secret_data_round_trips_and_needs_all_four_keys() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    let mut data = to_secret_data(&b);
    assert_eq!(from_secret_data(&data), Some(b));
    data.remove(keys::SERVER_KEY);
    assert_eq!(from_secret_data(&data), None);
}
