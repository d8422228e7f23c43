//! vpa-sim: an in-memory Kubernetes API server that the real `kubectl` accepts, for tests,
//! benchmarks and the local playground (issue 4); the cluster behaviour comes next (issue 5).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = vpa_sim::Sim::start(vpa_sim::SimOptions::default()).await?;
//! let client = sim.client().await?; // kube::Client as admin
//! println!("KUBECONFIG={}", sim.kubeconfig_path().display());
//! # drop(client);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod crd;
pub mod defaults;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod hooks;
pub mod openapi;
pub mod patch;
pub mod proto;
pub mod resource;
pub mod schema;
pub mod seed;
pub mod selector;
mod server;
mod sim;
pub mod store;
pub mod table;
pub mod tls;

pub use api::{
    AdmissionHook, AdmissionRequest, AuditRecord, FieldValidation, Shared, WriteOptions,
};
pub use error::{ApiError, ApiResult};
pub use faults::{FaultConfig, FaultKind, FaultRule, Faults};
pub use sim::{AuditLog, Sim, SimOptions};
pub use store::{EventType, Store, StoredObject, WatchEvent};

/// A TCP port free right now on every interface (so on loopback too), for a server about to
/// start; the error when the machine has none.
pub fn try_free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

/// [`try_free_port`] for tests and benchmarks. Panics when the machine has no free port:
/// nothing could run then.
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("no free TCP port: {e}"))
}
