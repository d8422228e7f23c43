//! The running `vpa-recommender` service: flags ([`args`]) into a plain [`config`], the admin
//! server with health and [`metrics`], and the wiring in [`run`] (leader election, watches,
//! restore, loop, shutdown). The loop itself lives in [`crate::routines`].

pub mod admin;
pub mod args;
pub mod config;
pub mod metrics;
pub mod run;

pub use args::ServiceArgs;
pub use run::{run, serve};
