//! The updater's replica and rate budgets against the in-memory API server (`vpa-sim`):
//! `minReplicas` (the VPA's and `--min-replicas`) and the eviction rate limit over a burst of
//! 100 drifting pods, judged by the eviction requests the API server saw.

use std::time::Duration;

mod support;

use clap::Parser;
use kube::Client;
use support::{
    NS, drifted_app, eviction_requests, pod_names, set_min_replicas, sim, start_updater,
};
use vpa_test_support::eventually_within;
use vpa_updater::args::Args;
use vpa_updater::cluster_api::ClusterApi;
use vpa_updater::config::UpdaterConfig;
use vpa_updater::ratelimit::Rate;

/// Flags as the binary parses them, with the eviction rate limit off.
fn config_from(flags: &[&str]) -> UpdaterConfig {
    let mut argv = vec!["vpa-updater", "--eviction-rate-limit=-1"];
    argv.extend_from_slice(flags);
    Args::try_parse_from(argv).unwrap().config()
}

async fn live_pods(client: &Client) -> usize {
    pod_names(client).await.len()
}

#[tokio::test]
async fn a_vpa_min_replicas_above_the_live_pods_blocks_eviction_until_lowered() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
    let audit = sim.record_requests();
    let mut u = start_updater(client.clone(), config_from(&[])).await;
    set_min_replicas(&client, &u, Some(3)).await;

    let report = u.run_once().await;
    assert_eq!(report.skipped, None);
    assert!(report.evicted.is_empty(), "{report:?}");
    assert_eq!(
        report.pod_skips.get("TooFewReplicas"),
        Some(&2),
        "{report:?}"
    );
    assert!(eviction_requests(&audit).is_empty());
    assert_eq!(live_pods(&client).await, 2);

    set_min_replicas(&client, &u, Some(2)).await;
    let report = u.run_once().await;
    assert_eq!(report.evicted.len(), 1, "{report:?}");
    assert_eq!(
        eviction_requests(&audit),
        [report.evicted[0].name.clone()],
        "one eviction request, for the evicted pod"
    );
    assert_eq!(live_pods(&client).await, 1);
    drop(u);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_min_replicas_flag_applies_unless_the_vpa_overrides_it() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
    let audit = sim.record_requests();
    let config = config_from(&["--min-replicas=3"]);
    assert_eq!(config.restriction.min_replicas, 3);
    let mut u = start_updater(client.clone(), config).await;

    // No minReplicas on the VPA: the flag's 3 exceeds the 2 live pods.
    let report = u.run_once().await;
    assert!(report.evicted.is_empty(), "{report:?}");
    assert_eq!(report.pod_skips.get("TooFewReplicas"), Some(&2));
    assert!(eviction_requests(&audit).is_empty());

    // The VPA's own value wins over the flag, in both directions.
    set_min_replicas(&client, &u, Some(2)).await;
    let report = u.run_once().await;
    assert_eq!(report.evicted.len(), 1, "{report:?}");
    assert_eq!(eviction_requests(&audit).len(), 1);
    assert_eq!(live_pods(&client).await, 1);
    drop(u);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_lower_flag_lets_a_two_pod_group_be_evicted_while_the_vpa_can_still_raise_it() {
    let sim = sim().await;
    let client = drifted_app(&sim, 2, "Recreate", 0).await;
    let audit = sim.record_requests();
    let mut u = start_updater(client.clone(), config_from(&["--min-replicas=1"])).await;
    set_min_replicas(&client, &u, Some(5)).await;
    let report = u.run_once().await;
    assert!(report.evicted.is_empty(), "{report:?}");
    assert!(eviction_requests(&audit).is_empty());

    set_min_replicas(&client, &u, None).await;
    let report = u.run_once().await;
    assert_eq!(report.evicted.len(), 1, "{report:?}");
    assert_eq!(eviction_requests(&audit).len(), 1);
    drop(u);
    sim.shutdown().await;
}

/// 100 pods of one Deployment, all far below the recommendation (so the disruption budget
/// would allow 50 evictions at once): over a window of back-to-back loops, evictions never
/// outrun `burst + rate × elapsed`, every eviction request succeeds (no retries, no 429s),
/// and each evicted pod is gone.
#[tokio::test]
async fn the_eviction_rate_limit_holds_over_a_burst_of_100_drifting_pods() {
    const RATE: f64 = 4.0;
    const BURST: u32 = 3;
    let sim = sim().await;
    let client = drifted_app(&sim, 100, "Recreate", 0).await;
    let audit = sim.record_requests();
    let config = UpdaterConfig {
        // Each loop's deadline: the limiter refuses a token later than this.
        interval: Duration::from_millis(800),
        eviction_rate: Rate {
            per_second: RATE,
            burst: BURST,
        },
        ..UpdaterConfig::default()
    };
    let started = tokio::time::Instant::now();
    let mut u = start_updater(client.clone(), config).await;
    let window = Duration::from_millis(2500);
    let mut evicted = Vec::new();
    let mut loops = 0;
    while started.elapsed() < window {
        let report = u.run_once().await;
        loops += 1;
        assert_eq!(report.skipped, None);
        assert!(report.failed_evictions.is_empty(), "{report:?}");
        assert!(
            report.rate_limited,
            "with 50 evictable pods every loop ends on the limiter: {report:?}"
        );
        evicted.extend(report.evicted);
        // Let the pod cache see the deletions, so no loop plans a pod that is already gone.
        let left = 100 - evicted.len();
        eventually_within(
            "the pod cache sees the evictions",
            Duration::from_secs(10),
            || async { u.cluster().list_pods().await.unwrap().len() == left },
        )
        .await;
        // The bound at every point of the window, not only at its end.
        let bound = f64::from(BURST) + RATE * started.elapsed().as_secs_f64();
        assert!(
            evicted.len() as f64 <= bound,
            "{} evictions after {:?} exceed {bound}",
            evicted.len(),
            started.elapsed()
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = eviction_requests(&audit);
    println!(
        "{} evictions in {loops} loops over {elapsed:.2} s (bound {:.1})",
        requests.len(),
        f64::from(BURST) + RATE * elapsed
    );
    // At least the burst, and the limiter keeps handing out tokens at the rate.
    assert!(
        requests.len() > BURST as usize,
        "{} evictions",
        requests.len()
    );
    let names: Vec<String> = evicted.iter().map(|k| k.name.clone()).collect();
    assert_eq!(requests, names, "one request per eviction, no retries");
    assert_eq!(live_pods(&client).await, 100 - names.len());
    assert!(
        evicted.iter().all(|k| k.namespace == NS),
        "evictions stay in the workload's namespace"
    );
    drop(u);
    sim.shutdown().await;
}
