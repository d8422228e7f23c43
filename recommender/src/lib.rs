//! Library side of the `recommender` component, so tests and benchmarks reach its logic.

pub mod input;
pub mod routines;
