//! Work done only while leading (edge): acquire the Lease, run the work while renewing it, give
//! the Lease up when done.

use std::future::Future;

use kube::Client;

use super::{LeaderElectionConfig, LeaderElector, LeaseSettings};

/// Leadership was lost while working: the process must exit so that it restarts as a candidate.
#[derive(Debug, thiserror::Error)]
#[error("lost leadership of Lease {namespace}/{name}")]
pub struct LostLeadership {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
}

/// Runs `work` while this replica leads the Lease of `settings`, or at once without leader
/// election (`settings` is `None`). `Ok(None)` when `stop` resolves before leadership is
/// acquired; `Ok(Some(output))` when `work` finishes (it watches `stop` itself);
/// [`LostLeadership`] when leadership is lost first (`work` is dropped).
///
/// The Lease is released whenever this replica stops leading, however that happens: the process
/// exits next in every case, and giving the Lease up lets a standby take over at once instead of
/// after `--leader-elect-lease-duration`. Releasing checks the holder first, so after another
/// replica took over it changes nothing. (The recommender used to release only after a clean
/// run, so after a failed start its standby waited the Lease out; the updater always released.)
pub async fn run_while_leading<T>(
    client: &Client,
    settings: Option<&LeaseSettings>,
    stop: impl Future<Output = ()>,
    work: impl Future<Output = T>,
) -> Result<Option<T>, LostLeadership> {
    let Some(settings) = settings else {
        return Ok(Some(work.await));
    };
    let elector = LeaderElector::new(
        client.clone(),
        LeaderElectionConfig::from_settings(settings),
    );
    tokio::select! {
        () = elector.acquire() => {}
        () = stop => return Ok(None),
    }
    // Boxed: a component's work is a large future.
    let work = Box::pin(work);
    let result = tokio::select! {
        output = work => Ok(Some(output)),
        () = elector.keep_leading() => Err(LostLeadership {
            namespace: settings.namespace.clone(),
            name: settings.lease_name.clone(),
        }),
    };
    elector.release().await;
    result
}
