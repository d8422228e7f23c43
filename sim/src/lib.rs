//! vpa-sim: an in-memory Kubernetes API server that the real `kubectl` accepts, for tests,
//! benchmarks and the local playground (issue 4); the cluster behaviour comes next (issue 5).

pub mod auth;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod openapi;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod selector;
pub mod store;
pub mod table;
pub mod tls;
