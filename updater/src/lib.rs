//! The VPA updater: finds pods whose requests drifted from their VPA's recommendation and
//! applies the recommendation by evicting them (so the admission controller sets new requests
//! on the replacement) or by resizing them in place.
//!
//! Pure modules: [`priority`], [`restriction`], [`resize`], [`inplace`], [`infeasible`],
//! [`unboost`], [`ratelimit`] (the bucket), [`plan`], [`config`], [`snapshot`], [`pod`]. Edge
//! modules: the loop in [`logic`], the [`cluster_api::ClusterApi`] trait and its kube
//! implementation ([`kube_api`]), [`metrics`], and [`run`]; the admin server, leader election and
//! the admission controller's status Lease are `vpa_common`'s.

pub mod args;
pub mod cluster_api;
pub mod config;
pub mod infeasible;
pub mod inplace;
pub mod kube_api;
pub mod logic;
pub mod metrics;
pub mod plan;
pub mod pod;
pub mod priority;
pub mod ratelimit;
pub mod resize;
pub mod restriction;
pub mod run;
pub mod snapshot;
pub mod time;
pub mod unboost;

#[cfg(test)]
mod test_support;
