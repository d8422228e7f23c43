//! The VPA admission controller: a TLS mutating webhook that sets pod requests (and limits in
//! proportion) from the VPA recommendation when pods are created, and validates VPA objects.
//!
//! Pure parts: [`patch`] (pod patches), [`validation`] (VPA checks and warnings), [`review`]
//! (wire format). Edges: [`handler`] (HTTP), [`view`] (cluster state behind a trait),
//! [`apiserver`] (writes of the webhook registration and the certificate Secret).

pub mod apiserver;
pub mod certs;
pub mod handler;
pub mod metrics;
pub mod ns_index;
pub mod patch;
pub mod pod;
pub mod review;
pub mod validation;
pub mod view;
pub mod vpa_index;

/// Installs ring as the process-wide rustls provider (see [`vpa_common::install_crypto_provider`]).
pub fn install_crypto() {
    vpa_common::install_crypto_provider();
}
pub mod cache;
pub mod config;
pub mod registration;
pub mod run;
pub mod server;
