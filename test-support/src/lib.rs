//! Test support shared by the integration tests (`tests/`) and benches of every crate: one home
//! for what each crate used to copy.
//!
//! * [`poll`]: [`eventually`] and [`eventually_within`], polling a check until it holds;
//! * [`objects`]: objects from JSON, the VPA CRDs and namespaces installed through a client;
//! * [`hamster`]: the hamster example (Deployment `hamster`, VPA `hamster-vpa`) as handler
//!   state, as objects in an API server, and read back from kubectl's JSON;
//! * [`sim_cluster`]: a started vpa-sim with the CRDs, and its simulated cluster ticking fast.
//!
//! A dev-only crate: it depends on vpa-sim (and so on vpa-common), so it serves integration tests
//! and benches, not the unit tests of vpa-common.

pub mod hamster;
pub mod objects;
pub mod poll;
pub mod sim_cluster;

pub use objects::{create, create_namespaces, install_vpa_crds, object};
pub use poll::{eventually, eventually_within};
