//! Library side of the `recommender` component, so tests and benchmarks reach its logic.
//!
//! The recommendation engine is pure and clock-free: [`model`] aggregates usage samples into
//! decaying histograms, [`logic`] turns aggregates into target and bounds, and [`checkpoint`]
//! converts aggregates to and from `VerticalPodAutoscalerCheckpoint` status. [`replay`] is the
//! `vpa-recommender replay` what-if tool, which drives the engine from a CSV of samples.
//! [`input`], [`routines`] and [`service`] make the running recommender: watches and metrics in,
//! the loop, and VPA status and checkpoints out; [`cli`] is the binary's command line.
//!
//! Floors, bottom up: [`config`] (settings as plain data), the engine ([`model`], [`logic`],
//! [`checkpoint`]), [`input`], [`routines`] (pure decisions and the loop) with [`apiserver`]
//! (its requests), and [`service`], [`replay`], [`report`] and [`cli`] on top. A room reads only
//! the floors below it.

pub mod apiserver;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod input;
pub mod logic;
pub mod model;
pub mod replay;
pub mod report;
pub mod routines;
pub mod service;
