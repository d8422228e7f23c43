//! vpa-sim: an in-memory Kubernetes API server that the real `kubectl` accepts, and a small
//! simulated cluster on top of it (nodes, kubelets, controllers, webhooks, metrics), for tests,
//! benchmarks and the local playground. This file is the facade: what other crates use is
//! re-exported here ([`cluster`] has its own facade); the rooms below are private.
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
//!
//! # Rooms
//!
//! **The kinds** (`resource`, pure data). One `ResourceInfo` record per group/version/resource
//! says everything the server knows about a kind: names, verbs, subresources, schema, the
//! defaults filled in on write (`defaults`), the protobuf fields typed clients send
//! (`proto::messages`), the `kubectl get` columns (`table`, with computed cells in
//! `table::cells`) and the scale subresource's semantics (`resource::scale`). The built-in
//! records are in `resource::builtin` (one file per group family); CRDs become records in `crd`.
//! To add a built-in kind, add its record there, and its defaulting function, protobuf message or
//! cells where the record points; `cluster::actions::Kind` takes a kind the controllers write by
//! name from the same table.
//!
//! **The API** (`api`, pure apart from the store it writes). The write semantics shared by HTTP
//! and in-process callers: validation and pruning against the kind's schema (`schema`),
//! defaults, admission hooks (`hooks`), status/scale/resize rules, patches (`patch`), CRD
//! registration, with RBAC in `auth`, selectors in `selector` and errors in `error`.
//!
//! **The store** (`store`, synchronous and lock-based). Objects per resource, resourceVersions,
//! the bounded watch history and live buses, lists, deletes with finalizers and garbage
//! collection. `seed` writes many objects straight into it for benchmarks.
//!
//! **The HTTP layer** (`server`, the edge). Authentication, routing, discovery (`discovery`) and
//! OpenAPI (`openapi`), reads, lists, tables and watches, subresources and reviews, faults
//! (`faults`), over TLS (`tls`); `sim` starts it all and writes the kubeconfig, `cli` is the
//! `vpa-sim` command.
//!
//! **The cluster** ([`cluster`]). Controllers (`cluster::controllers`: the controller manager,
//! pure planners and their executor), nodes (`cluster::node`: the scheduler, kubelets, usage
//! models, probes, our binaries run as processes), the network (`cluster::network`: pod
//! addresses, Services), admission webhooks (`cluster::admission`) and observability
//! (`cluster::observability`: Events, metrics, the Prometheus page).

mod api;
mod auth;
pub mod cli;
pub mod cluster;
mod crd;
mod defaults;
mod discovery;
mod error;
mod faults;
mod hooks;
mod openapi;
mod patch;
mod proto;
mod resource;
mod schema;
pub mod seed;
mod selector;
mod server;
mod sim;
mod store;
mod table;
mod tls;

pub use api::{
    AdmissionHook, AdmissionRequest, AuditHook, AuditRecord, FieldValidation, Shared, WriteOptions,
};
pub use auth::{MASTERS, UserInfo};
pub use error::{ApiError, ApiResult, Cause};
pub use faults::{FaultConfig, FaultKind, FaultRule, Faults};
pub use resource::{GroupResource, Registry, ResourceInfo};
pub use sim::{AuditLog, Sim, SimOptions};
pub use store::{
    Clock, DeleteOptions, Deleted, EventType, ListPage, Propagation, Store, StoredObject,
    WatchEvent, WatchStart,
};

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
