//! The controller manager: what kube-controller-manager does in the simulated cluster. Each
//! controller's decision is a pure planner over listed objects returning
//! [`Action`](crate::cluster::actions::Action)s (`workloads`: Deployments and ReplicaSets, `sets`:
//! StatefulSets, DaemonSets, Jobs, `cron`: CronJobs, `endpoints` and `endpoint_slices`: Services'
//! endpoints); `manager` is the edge that lists through the API and executes them.

pub mod cron;
pub mod endpoint_slices;
pub mod endpoints;
pub mod manager;
pub mod sets;
#[cfg(test)]
mod tests;
pub mod workloads;
