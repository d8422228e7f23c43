//! The running `vpa-recommender` service: flags ([`args`]) into a plain [`config`], the admin
//! server (`vpa_common::admin`) with health and [`metrics`] (with [`client_metrics`] and
//! [`quality`]), and the wiring in [`run`] (leader election, watches, restore, loop, shutdown).
//! The loop itself lives in [`crate::routines`].

pub mod args;
pub mod client_metrics;
pub mod config;
pub mod metrics;
pub mod quality;
pub mod run;

pub use args::ServiceArgs;
pub use run::{run, serve};
