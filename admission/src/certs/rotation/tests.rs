//! Renewal steps one by one, and whole rotation sequences checked the way kube-apiserver checks
//! them: with rustls' WebPKI verifier at the simulated time, against the `caBundle` it trusts.

use std::sync::Arc;

use proptest::prelude::*;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{ServerName, UnixTime};
use time::Duration;

use super::*;
use crate::certs::service_dns_names;

fn names() -> Vec<String> {
    service_dns_names("vpa-webhook", "kube-system")
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// The default lifetimes, with the CA due for rotation at once.
fn ca_due() -> Validity {
    let v = Validity::default();
    Validity {
        ca_renew_before: v.ca + Duration::days(1),
        ..v
    }
}

/// Whether a client trusting the CAs of `bundle` (PEM) accepts `leaf` (PEM) for the webhook
/// Service at `now`.
fn trusted(leaf: &str, bundle: &str, now: OffsetDateTime) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    if roots.is_empty() {
        return false;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let leaf = CertificateDer::from_pem_slice(leaf.as_bytes()).unwrap();
    let name = ServerName::try_from("vpa-webhook.kube-system.svc").unwrap();
    let at =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp() as u64));
    verifier
        .verify_server_cert(&leaf, &[], &name, &[], at)
        .is_ok()
}

#[test]
fn staging_adds_the_next_ca_to_the_bundle_and_keeps_the_served_certificate() {
    let b = CertBundle::generate(&names(), t0(), Validity::default()).unwrap();
    let staged = b
        .renewal(&names(), t0(), ca_due(), Published::Bundle(&b.ca_bundle()))
        .unwrap()
        .expect("next CA staged");
    let next = staged.next_ca.as_ref().expect("next CA");
    assert_eq!(next.published_since, None, "not registered yet");
    assert_eq!(staged.ca_cert_pem, b.ca_cert_pem);
    assert_eq!(staged.server_cert_pem, b.server_cert_pem);
    assert_eq!(
        staged.ca_bundle(),
        format!("{}{}", b.ca_cert_pem, next.cert_pem)
    );
    assert!(trusted(&staged.server_cert_pem, &b.ca_bundle(), t0()));
}

#[test]
fn promotion_waits_for_the_registered_bundle_and_the_propagation_delay() {
    let v = ca_due();
    let b = CertBundle::generate(&names(), t0(), v).unwrap();
    let old_bundle = b.ca_bundle();
    let staged = b
        .renewal(&names(), t0(), v, Published::Bundle(&old_bundle))
        .unwrap()
        .unwrap();
    // Still not registered an hour later: nothing moves.
    let later = t0() + Duration::hours(1);
    assert_eq!(
        staged
            .renewal(&names(), later, v, Published::Bundle(&old_bundle))
            .unwrap(),
        None
    );
    // Registered: the time it was first seen is recorded.
    let registered = staged.ca_bundle();
    let seen = staged
        .renewal(&names(), later, v, Published::Bundle(&registered))
        .unwrap()
        .expect("publication recorded");
    assert_eq!(seen.next_ca.as_ref().unwrap().published_since, Some(later));
    assert_eq!(seen.server_cert_pem, b.server_cert_pem);
    // Not yet long enough.
    let early = later + v.ca_propagation - Duration::seconds(1);
    assert_eq!(
        seen.renewal(&names(), early, v, Published::Bundle(&registered))
            .unwrap(),
        None
    );
    // Long enough: the staged CA signs a new serving certificate, the old CA stays trusted.
    let due = later + v.ca_propagation;
    let promoted = seen
        .renewal(&names(), due, v, Published::Bundle(&registered))
        .unwrap()
        .expect("promoted");
    let next = seen.next_ca.as_ref().unwrap();
    assert_eq!(promoted.ca_cert_pem, next.cert_pem);
    assert_eq!(promoted.ca_key_pem, next.key_pem);
    assert_eq!(promoted.next_ca, None);
    assert_eq!(promoted.previous_ca_cert_pem, Some(b.ca_cert_pem.clone()));
    assert_ne!(promoted.server_cert_pem, b.server_cert_pem);
    assert!(trusted(&promoted.server_cert_pem, &registered, due));
    assert!(!trusted(&promoted.server_cert_pem, &old_bundle, due));
    assert!(trusted(&b.server_cert_pem, &promoted.ca_bundle(), due));
}

#[test]
fn a_staged_ca_dropped_from_the_registration_waits_again() {
    let v = ca_due();
    let b = CertBundle::generate(&names(), t0(), v).unwrap();
    let staged = b
        .renewal(&names(), t0(), v, Published::Bundle(""))
        .unwrap()
        .unwrap();
    let seen = staged
        .renewal(&names(), t0(), v, Published::Bundle(&staged.ca_bundle()))
        .unwrap()
        .unwrap();
    // Someone registered the old bundle again: the record is cleared, nothing is promoted.
    let later = t0() + v.ca_propagation * 2;
    let lost = seen
        .renewal(&names(), later, v, Published::Bundle(&b.ca_bundle()))
        .unwrap()
        .expect("record cleared");
    assert_eq!(lost.ca_cert_pem, b.ca_cert_pem);
    assert_eq!(lost.next_ca.as_ref().unwrap().published_since, None);
    assert_eq!(
        lost.next_ca.as_ref().unwrap().cert_pem,
        staged.next_ca.unwrap().cert_pem
    );
}

#[test]
fn untracked_registration_promotes_a_propagation_delay_after_staging() {
    let v = ca_due();
    let b = CertBundle::generate(&names(), t0(), v).unwrap();
    let staged = b
        .renewal(&names(), t0(), v, Published::Untracked)
        .unwrap()
        .unwrap();
    assert_eq!(staged.next_ca.as_ref().unwrap().published_since, Some(t0()));
    let early = t0() + v.ca_propagation - Duration::seconds(1);
    assert_eq!(
        staged
            .renewal(&names(), early, v, Published::Untracked)
            .unwrap(),
        None
    );
    let promoted = staged
        .renewal(&names(), t0() + v.ca_propagation, v, Published::Untracked)
        .unwrap()
        .unwrap();
    assert_eq!(promoted.previous_ca_cert_pem, Some(b.ca_cert_pem));
}

#[test]
fn an_expired_ca_is_replaced_at_once() {
    let v = Validity::default();
    let b = CertBundle::generate(&names(), t0(), v).unwrap();
    let after = t0() + v.ca + Duration::days(1);
    let fresh = b
        .renewal(&names(), after, v, Published::Bundle(&b.ca_bundle()))
        .unwrap()
        .unwrap();
    assert_ne!(fresh.ca_cert_pem, b.ca_cert_pem);
    assert_eq!((fresh.next_ca, fresh.previous_ca_cert_pem), (None, None));
}

#[test]
fn the_previous_ca_is_dropped_once_expired() {
    let v = Validity::default();
    let old = CertBundle::generate(&names(), t0(), v).unwrap();
    let mut b = CertBundle::generate(&names(), t0() + Duration::days(3500), v).unwrap();
    b.previous_ca_cert_pem = Some(old.ca_cert_pem.clone());
    let before_expiry = t0() + Duration::days(3600);
    assert_eq!(
        b.renewal(&names(), before_expiry, v, Published::Untracked)
            .unwrap(),
        None
    );
    let dropped = b
        .renewal(
            &names(),
            t0() + Duration::days(3651),
            v,
            Published::Untracked,
        )
        .unwrap()
        .expect("old CA dropped");
    assert_eq!(dropped.previous_ca_cert_pem, None);
    assert_eq!(dropped.ca_cert_pem, b.ca_cert_pem);
}

/// What happened over a simulated run.
#[derive(Debug, Default)]
struct Run {
    stagings: usize,
    promotions: usize,
    previous_dropped: usize,
    leaves: usize,
}

/// How a simulated cluster behaves.
struct Cluster {
    validity: Validity,
    /// Time between refreshes while no CA is staged.
    coarse: Duration,
    /// Time between refreshes while a CA is staged.
    fine: Duration,
    /// How long kube-apiserver takes to use a registration once written (at most
    /// `ca_propagation`).
    lag: Duration,
    /// Whether the registration attempt number `n` fails.
    fails: Box<dyn Fn(usize) -> bool>,
    /// Simulated time span.
    span: Duration,
}

/// Runs the refresh loop of one replica (read the registration, renew, serve, register when the
/// registered bundle differs) over `cluster.span`, and checks at each tick that every caBundle
/// kube-apiserver uses until the next tick trusts both the certificate served now and the one
/// served before (by a replica that has not reloaded yet).
fn simulate(cluster: &Cluster) -> Run {
    let v = cluster.validity;
    let mut bundle = CertBundle::generate(&names(), t0(), v).unwrap();
    // (time kube-apiserver starts using it, caBundle)
    let mut effective = vec![(t0(), bundle.ca_bundle())];
    let mut written = bundle.ca_bundle();
    let mut attempts = 0;
    let mut run = Run::default();
    let mut served = bundle.server_cert_pem.clone();
    let mut now = t0();
    while now < t0() + cluster.span {
        if let Some(next) = bundle
            .renewal(&names(), now, v, Published::Bundle(&written))
            .unwrap()
        {
            run.stagings += usize::from(bundle.next_ca.is_none() && next.next_ca.is_some());
            run.promotions += usize::from(next.ca_cert_pem != bundle.ca_cert_pem);
            run.previous_dropped += usize::from(
                bundle.previous_ca_cert_pem.is_some() && next.previous_ca_cert_pem.is_none(),
            );
            run.leaves += usize::from(next.server_cert_pem != bundle.server_cert_pem);
            bundle = next;
        }
        let step = if bundle.next_ca.is_some() {
            cluster.fine
        } else {
            cluster.coarse
        };
        let before = std::mem::replace(&mut served, bundle.server_cert_pem.clone());
        if bundle.ca_bundle() != written {
            attempts += 1;
            if !(cluster.fails)(attempts) {
                written = bundle.ca_bundle();
                effective.push((now + cluster.lag, written.clone()));
            }
        }
        let in_use = effective
            .iter()
            .rposition(|(t, _)| *t <= now)
            .expect("a registration before the first tick");
        for (_, trust) in effective[in_use..].iter().filter(|(t, _)| *t < now + step) {
            for (which, leaf) in [("served", &served), ("served before", &before)] {
                assert!(
                    trusted(leaf, trust, now),
                    "at {now}: the certificate {which} is not trusted by the caBundle in use \
                     ({run:?})"
                );
            }
        }
        now += step;
    }
    run
}

#[test]
fn over_twelve_years_every_served_certificate_is_trusted_by_the_registered_bundle() {
    let run = simulate(&Cluster {
        validity: Validity::default(),
        coarse: Duration::days(7),
        fine: Duration::minutes(1),
        lag: Duration::minutes(5),
        fails: Box::new(|n| n % 3 == 1),
        span: Duration::days(12 * 365),
    });
    assert_eq!(
        (run.stagings, run.promotions, run.previous_dropped),
        (1, 1, 1)
    );
    assert!(run.leaves >= 10, "{run:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn any_refresh_pace_lag_and_registration_failures_keep_every_certificate_trusted(
        coarse_hours in 24_i64..=24 * 7,
        fine_seconds in 10_i64..=300,
        lag_seconds in 0_i64..=600,
        failures in proptest::collection::vec(prop::bool::weighted(0.3), 32),
    ) {
        // Short lifetimes, so that three years hold several CA rotations.
        let validity = Validity {
            ca: Duration::days(400),
            server: Duration::days(60),
            server_renew_before: Duration::days(20),
            ca_renew_before: Duration::days(100),
            ca_propagation: Duration::minutes(10),
        };
        let run = simulate(&Cluster {
            validity,
            coarse: Duration::hours(coarse_hours),
            fine: Duration::seconds(fine_seconds),
            lag: Duration::seconds(lag_seconds),
            fails: Box::new(move |n| failures[n % failures.len()]),
            span: Duration::days(3 * 365),
        });
        prop_assert!(run.promotions >= 3, "{:?}", run);
        prop_assert_eq!(run.stagings, run.promotions);
        prop_assert!(run.previous_dropped >= 2, "{:?}", run);
    }
}
