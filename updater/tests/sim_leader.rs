//! Leader election on a Lease against the in-memory API server: one leader at a time, takeover
//! after release, and the Lease fields a Kubernetes client expects.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use vpa_common::leader_election::{LeaderElectionConfig, LeaderElector};
use vpa_sim::{Sim, SimOptions};

fn config(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        identity: identity.into(),
        retry_period: Duration::from_millis(100),
        ..LeaderElectionConfig::new("vpa-updater", "kube-system")
    }
}

#[tokio::test]
async fn one_replica_leads_and_the_other_takes_over_after_release() {
    vpa_common::install_crypto_provider();
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(sim.kubeconfig_path()).unwrap();
    let kube_config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = vpa_common::client::build(kube_config, None).unwrap();

    let first = LeaderElector::new(client.clone(), config("first"));
    let second = LeaderElector::new(client.clone(), config("second"));
    tokio::time::timeout(Duration::from_secs(5), first.acquire())
        .await
        .expect("the first replica leads at once");
    let leases: Api<Lease> = Api::namespaced(client, "kube-system");
    let spec = leases.get("vpa-updater").await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("first"));
    assert_eq!(spec.lease_duration_seconds, Some(15));

    let waiting = tokio::time::timeout(Duration::from_millis(500), second.acquire()).await;
    assert!(
        waiting.is_err(),
        "a valid Lease held by another replica is respected"
    );

    first.release().await;
    tokio::time::timeout(Duration::from_secs(5), second.acquire())
        .await
        .expect("the second replica takes over after release");
    let spec = leases.get("vpa-updater").await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("second"));
    sim.shutdown().await;
}
