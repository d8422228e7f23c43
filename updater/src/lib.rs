//! The VPA updater: finds pods whose requests drifted from their VPA's recommendation and
//! applies the recommendation by evicting them (so the admission controller sets new requests
//! on the replacement) or by resizing them in place.
//!
//! Pure modules: [`priority`], [`restriction`], [`inplace`], [`ratelimit`] (the bucket),
//! [`lease`], [`plan`], [`config`], [`snapshot`], [`pod`]. Edge modules: the loop in [`logic`],
//! the [`cluster::Cluster`] trait and its kube implementation, [`metrics`], the admin server,
//! leader election (shared, `vpa_common::leader_election`) and [`run`].

pub mod admin;
pub mod args;
pub mod cluster;
pub mod config;
pub mod health;
pub mod inplace;
pub mod kube_cluster;
pub mod lease;
pub mod logic;
pub mod metrics;
pub mod plan;
pub mod pod;
pub mod priority;
pub mod ratelimit;
pub mod restriction;
pub mod run;
pub mod snapshot;
pub mod time;

#[cfg(test)]
mod test_support;
