//! Live agreement with upstream: our recommender and upstream's 1.7.1 run at the same time against
//! one sim, fed the same usage in lockstep, each owning its own copy of every VPA. The test in
//! `bench/tests/upstream_agreement.rs` drives it; the pieces are here so they are unit-tested.

pub mod cluster;
pub mod compare;
pub mod peer;
pub mod workloads;
