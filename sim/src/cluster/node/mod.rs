//! Where pods run: Node objects (`nodes`), the scheduler that binds pods to them (`scheduling`:
//! the pure choice of a node with room, `scheduler`: the edge that binds), the kubelets that run
//! bound pods (`agent` and `pod_step`, the edge; `reading` for what they read off a pod), and
//! their pure parts: status transitions (`kubelet`: start, in-place resize, OOM kill, exit),
//! container usage models and scenarios (`usage`, `scenario`), and for containers of our own
//! images run as local processes: the launcher (`processes`), the runtime (`process_runner`),
//! probes (`probes`) and the container states they lead to (`container_states`).

pub mod agent;
pub mod container_states;
pub mod kubelet;
pub mod nodes;
mod pod_step;
pub mod probes;
pub mod process_runner;
pub mod processes;
mod reading;
pub mod scenario;
pub mod scheduler;
pub mod scheduling;
#[cfg(test)]
mod tests;
pub mod usage;
