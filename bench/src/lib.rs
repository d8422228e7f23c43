//! Benchmark harness shared by the components' benches and by `versus-upstream`, which runs ours
//! and upstream's VPA 1.7.1 against the same API server and workload in one run: the workloads
//! (seeded straight into the sim's store), the webhook load generator, request counting, child
//! process stats from `/proc`, Prometheus text parsing and medians; and the live-agreement harness
//! (both recommenders on one sim, fed the same usage).

pub mod admission_workload;
pub mod agreement;
pub mod child;
pub mod load;
pub mod proc_stats;
pub mod prom_text;
pub mod recommender_workload;
pub mod report;
pub mod request_count;
pub mod stats;
pub mod updater_workload;
