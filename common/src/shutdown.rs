//! Graceful shutdown (edge): the signal every binary stops on, SIGTERM (what the kubelet sends a
//! terminating pod) or Ctrl-C, and a cloneable stop flag for the tasks that must stop with it.

use tokio::sync::watch;
use tracing::{info, warn};

/// Resolves when SIGTERM or Ctrl-C arrives. Where no SIGTERM handler can be installed, it waits
/// for Ctrl-C alone (with a warning) rather than never.
pub async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(error) => warn!(%error, "Cannot handle SIGTERM; only Ctrl-C stops this process"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A stop flag that turns true once [`termination`] resolves (logged); hand clones to
/// [`stopped`].
pub fn on_termination() -> watch::Receiver<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        termination().await;
        info!("Termination signal received; shutting down");
        let _ = stop_tx.send(true);
    });
    stop_rx
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn stopped_resolves_when_the_flag_turns_or_its_sender_goes() {
        let (tx, rx) = watch::channel(false);
        let waiting = tokio::spawn(stopped(rx.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiting.is_finished(),
            "still running while the flag is false"
        );
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        let (tx, rx) = watch::channel(false);
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), stopped(rx))
            .await
            .unwrap();
    }
}
