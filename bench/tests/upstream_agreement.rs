//! Live agreement with upstream's recommender 1.7.1: both run at once against one sim, fed the same
//! usage (steady, spiky, growing, OOM-killed, multi-container) in lockstep, each owning its own copy
//! of every VPA through `spec.recommenders`. Their statuses must agree within one histogram bucket
//! per container and value, and their checkpoints must hold the same history bucket for bucket.
//! Then each restarts owning the other's VPAs, with no usage left to read,
//! and must give the same recommendation from the other's checkpoints alone.
//!
//! Needs upstream's binary (`cluster/kube/build vpa`, which the test runs when Go is here); skips
//! with the reason on a machine without Go, fails under `CI=true`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use vpa_bench::agreement::cluster::{AgreementCluster, vpa_name};
use vpa_bench::agreement::compare::{self, Difference, Recommendation};
use vpa_bench::agreement::peer::Peer;
use vpa_bench::agreement::workloads::{OOM_LIMIT_MIB, OOM_STEPS, SHAPES, Shape};

/// Samples per container (one simulated minute apart).
const STEPS: usize = 40;
/// Patience for a recommender's loops (1 s each).
const LOOP_PATIENCE: Duration = Duration::from_secs(60);
const OURS: &str = "ours";
const MIB: f64 = 1024.0 * 1024.0;
const UPSTREAM: &str = "upstream";

fn upstream_binary() -> Option<PathBuf> {
    vpa_e2e::require_tool(
        "go (to build upstream's VPA)",
        &["go", "/usr/local/go/bin/go"],
    )?;
    let dir = vpa_kube_cluster::binaries::ensure_upstream_vpa()
        .unwrap_or_else(|e| panic!("upstream's VPA could not be built: {e}"));
    Some(dir.join("upstream-vpa-recommender"))
}

/// Both peers finish two loops (so each has read what was written before the call).
async fn settle(peers: &mut [Peer; 2]) {
    let [a, b] = peers;
    let (ra, rb) = tokio::join!(
        a.wait_loops(2, LOOP_PATIENCE),
        b.wait_loops(2, LOOP_PATIENCE)
    );
    ra.unwrap();
    rb.unwrap();
}

fn find<'a>(vpas: &'a [Value], name: &str) -> &'a Value {
    vpas.iter()
        .find(|v| v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("VPA {name} is gone"))
}

/// Every container of every workload has all compared values on both sides.
fn assert_complete(label: &str, shape: Shape, r: &Recommendation) {
    for c in shape.containers() {
        for field in compare::FIELDS {
            for resource in compare::RESOURCES {
                let key = (c.to_string(), field.to_string(), resource.to_string());
                assert!(
                    r.contains_key(&key),
                    "{label}: {}/{c} has no {field}.{resource}: {r:?}",
                    shape.name()
                );
            }
        }
    }
}

/// Prints both targets side by side, so a passing run still shows what was compared.
fn print_targets(shape: Shape, ours: &Recommendation, upstream: &Recommendation) {
    for c in shape.containers() {
        let get = |r: &Recommendation, res: &str| {
            r.get(&(c.to_string(), "target".to_string(), res.to_string()))
                .copied()
                .unwrap_or(f64::NAN)
        };
        eprintln!(
            "   {:<16} {:<8} target cpu {:>7.3} / {:>7.3} cores, memory {:>7.1} / {:>7.1} MiB (ours / upstream)",
            shape.name(),
            c,
            get(ours, "cpu"),
            get(upstream, "cpu"),
            get(ours, "memory") / MIB,
            get(upstream, "memory") / MIB
        );
    }
}

/// Writes the VPAs and checkpoints of a phase next to the logs (read when investigating).
fn keep(dir: &std::path::Path, phase: &str, vpas: &[Value], checkpoints: &[Value]) {
    let text = serde_json::to_string_pretty(
        &serde_json::json!({"vpas": vpas, "checkpoints": checkpoints}),
    );
    std::fs::write(dir.join(format!("{phase}.json")), text.unwrap()).unwrap();
}

fn report(title: &str, differences: &[Difference]) {
    eprintln!("== {title}: {} differences", differences.len());
    for d in differences {
        eprintln!("   {d}");
    }
}

/// Ours and upstream's recommendations of each workload, from their own VPAs.
fn recommendations(
    vpas: &[Value],
    owner_ours: &str,
    owner_upstream: &str,
) -> Vec<(Shape, Recommendation, Recommendation)> {
    SHAPES
        .iter()
        .map(|&s| {
            let ours = compare::recommendation(find(vpas, &vpa_name(s, owner_ours)));
            let upstream = compare::recommendation(find(vpas, &vpa_name(s, owner_upstream)));
            (s, ours, upstream)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_and_upstream_agree_live_and_through_each_others_checkpoints() {
    vpa_common::install_crypto_provider();
    let Some(upstream) = tokio::task::spawn_blocking(upstream_binary).await.unwrap() else {
        return;
    };
    let ours = tokio::task::spawn_blocking(|| {
        vpa_e2e::component::binary("vpa-recommender", "vpa-recommender")
    })
    .await
    .unwrap();
    // VPA_AGREEMENT_KEEP=DIR keeps both recommenders' logs and the VPAs and checkpoints there.
    let temp = tempfile::tempdir().unwrap();
    let dir =
        std::env::var_os("VPA_AGREEMENT_KEEP").map_or(temp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = AgreementCluster::start(&[OURS, UPSTREAM], STEPS)
        .await
        .unwrap();
    let kubeconfig = cluster.sim.kubeconfig_path().to_path_buf();
    cluster.publish_step(0).unwrap();
    let mut peers = [
        Peer::start(&ours, &kubeconfig, OURS, &dir).unwrap(),
        Peer::start(&upstream, &kubeconfig, UPSTREAM, &dir).unwrap(),
    ];
    settle(&mut peers).await;
    for step in 1..STEPS {
        cluster.publish_step(step).unwrap();
        settle(&mut peers).await;
        if OOM_STEPS.contains(&step) {
            let at = cluster.time_of(step) + chrono::Duration::seconds(30);
            cluster
                .oom_kill(Shape::OomKilled, 0, "app", at)
                .await
                .unwrap();
            settle(&mut peers).await;
        }
    }
    settle(&mut peers).await;

    // 1. Live: each on its own VPAs.
    let live = cluster.vpas().await.unwrap();
    let mut live_differences = Vec::new();
    for (shape, o, u) in recommendations(&live, OURS, UPSTREAM) {
        assert_complete("ours, live", shape, &o);
        assert_complete("upstream, live", shape, &u);
        print_targets(shape, &o, &u);
        if shape == Shape::OomKilled {
            // Both saw the kills: memory is bumped above the limit the container was killed at.
            let key = (
                "app".to_string(),
                "target".to_string(),
                "memory".to_string(),
            );
            for (who, r) in [("ours", &o), ("upstream", &u)] {
                assert!(
                    r[&key] >= 1.2 * OOM_LIMIT_MIB * MIB,
                    "{who} did not act on the OOM kills: memory target {} MiB",
                    r[&key] / MIB
                );
            }
        }
        live_differences.extend(compare::differences(shape.name(), &o, &u));
    }
    report("live", &live_differences);

    // 2. Through checkpoints: each restarts owning the other's VPAs, with no usage to read.
    let checkpoint_objects = cluster.checkpoints().await.unwrap();
    keep(&dir, "live", &live, &checkpoint_objects);
    // Both wrote a checkpoint per container, holding the same history bucket for bucket.
    let checkpoint = |name: &str| {
        checkpoint_objects
            .iter()
            .find(|c| c["metadata"]["name"] == name)
            .map(|c| c["status"].clone())
            .unwrap_or_else(|| panic!("no checkpoint {name}"))
    };
    let mut history_differences = Vec::new();
    for shape in SHAPES {
        for c in shape.containers() {
            let ours = checkpoint(&format!("{}-{c}", vpa_name(shape, OURS)));
            let upstream = checkpoint(&format!("{}-{c}", vpa_name(shape, UPSTREAM)));
            for d in compare::checkpoint_differences(&ours, &upstream) {
                history_differences.push(format!("{}/{c} checkpoint {d}", shape.name()));
            }
        }
    }
    eprintln!(
        "== checkpoint contents: {} differences",
        history_differences.len()
    );
    for d in &history_differences {
        eprintln!("   {d}");
    }
    let [a, b] = peers;
    a.stop();
    b.stop();
    cluster.remove_metrics();
    cluster.clear_statuses().await.unwrap();
    let mut swapped = [
        Peer::start(&ours, &kubeconfig, UPSTREAM, &dir).unwrap(),
        Peer::start(&upstream, &kubeconfig, OURS, &dir).unwrap(),
    ];
    settle(&mut swapped).await;
    settle(&mut swapped).await;
    let restored = cluster.vpas().await.unwrap();
    keep(
        &dir,
        "restored",
        &restored,
        &cluster.checkpoints().await.unwrap(),
    );
    let mut checkpoint_differences = Vec::new();
    for shape in SHAPES {
        // Ours now owns the VPA upstream wrote checkpoints for, and the other way round.
        let ours_from_upstream =
            compare::recommendation(find(&restored, &vpa_name(shape, UPSTREAM)));
        let upstream_from_ours = compare::recommendation(find(&restored, &vpa_name(shape, OURS)));
        let upstream_live = compare::recommendation(find(&live, &vpa_name(shape, UPSTREAM)));
        let ours_live = compare::recommendation(find(&live, &vpa_name(shape, OURS)));
        assert_complete(
            "ours from upstream's checkpoints",
            shape,
            &ours_from_upstream,
        );
        assert_complete("upstream from our checkpoints", shape, &upstream_from_ours);
        checkpoint_differences.extend(compare::differences(
            &format!("{} (ours from upstream's checkpoints)", shape.name()),
            &ours_from_upstream,
            &upstream_live,
        ));
        checkpoint_differences.extend(compare::differences(
            &format!("{} (upstream from our checkpoints)", shape.name()),
            &ours_live,
            &upstream_from_ours,
        ));
    }
    report("through checkpoints", &checkpoint_differences);
    let [a, b] = swapped;
    let tails = format!("ours:\n{}\nupstream:\n{}", a.log_tail(15), b.log_tail(15));
    a.stop();
    b.stop();
    cluster.shutdown().await;
    assert!(
        live_differences.is_empty()
            && checkpoint_differences.is_empty()
            && history_differences.is_empty(),
        "ours and upstream disagree (listed above); logs:\n{tails}"
    );
}
