//! Shared code of the VPA components: the `autoscaling.k8s.io/v1` API types, exact resource
//! quantities, CRD generation, and the pure post-processing that the recommender, updater and
//! admission controller must agree on.
//!
//! Entry points of the shared post-processing:
//! * [`capping::apply_vpa_policy`] (recommender) and [`capping::cap_for_pod`] (admission
//!   controller, updater);
//! * [`pod_resources::resources_for_pod`]: new requests and proportional limits for a pod;
//! * [`limits::proportional_limit`], [`limitrange::NamespaceLimits::from_limit_ranges`];
//! * [`postprocess`]: integer-CPU and rounding post-processors;
//! * [`controllers`]: the well-known-controller index and its watches, with the
//!   scale-subresource fallback;
//! * [`matching::vpa_for_pod`], [`matching::topmost_controller`], [`matching::selector_matches`];
//! * [`policy`]: container policy lookup and update-mode helpers;
//! * [`startup_boost`]: the CPU startup boost and its pod annotation (admission controller,
//!   updater);
//! * [`features`]: the `--feature-gates` flag;
//! * [`component`]: the flags every binary shares; [`leader_election`]: Lease-based leader
//!   election for the recommender and updater ([`leader_election::run_while_leading`]);
//! * [`status_lease`]: the admission controller's status Lease, written by it, read by the
//!   updater;
//! * [`admin`], [`duration`], [`logging`], [`scale`], [`watch`]: the binaries' shared edges
//!   (health/readiness/metrics server, duration flags, log setup, scale-subresource selectors, watch caches);
//! * `testutil` (feature `test-util`): `VpaBuilder`, `PodBuilder`, hand-filled `Controllers`.

pub mod admin;
pub mod api;
pub mod capping;
pub mod client;
pub mod component;
pub mod controllers;
pub mod crd;
pub mod duration;
pub mod features;
pub mod go_flags;
pub mod leader_election;
pub mod limitrange;
pub mod limits;
pub mod logging;
pub mod matching;
pub mod metrics;
pub mod pod_resources;
pub mod policy;
pub mod postprocess;
pub mod quantity;
pub mod resources;
pub mod scale;
pub mod shutdown;
pub mod startup_boost;
pub mod status_lease;
#[cfg(any(test, feature = "test-util"))]
pub mod testutil;
pub mod token_bucket;
pub mod watch;

/// Installs ring as the process-wide rustls crypto provider. Every binary and test that builds a
/// TLS client or server calls this first; calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
