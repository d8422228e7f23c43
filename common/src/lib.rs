//! Shared code of the VPA components: the `autoscaling.k8s.io/v1` API types, exact resource
//! quantities, CRD generation, and the pure post-processing that the recommender, updater and
//! admission controller must agree on.

pub mod api;
pub mod crd;
pub mod quantity;
pub mod resources;

/// Installs ring as the process-wide rustls crypto provider. Every binary and test that builds a
/// TLS client or server calls this first; calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
