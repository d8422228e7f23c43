//! Library side of the `recommender` component, so tests and benchmarks reach its logic.
//!
//! The recommendation engine is pure and clock-free: [`model`] aggregates usage samples into
//! decaying histograms, [`logic`] turns aggregates into target and bounds, and [`checkpoint`]
//! converts aggregates to and from `VerticalPodAutoscalerCheckpoint` status. [`replay`] is the
//! `vpa-recommender replay` what-if tool, which drives the engine from a CSV of samples.
//! [`input`], [`routines`] and [`service`] make the running recommender: watches and metrics in,
//! the loop, and VPA status and checkpoints out; [`cli`] is the binary's command line.

pub mod checkpoint;
pub mod cli;
pub mod input;
pub mod logic;
pub mod model;
pub mod replay;
pub mod report;
pub mod routines;
pub mod service;
