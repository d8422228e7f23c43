//! Aggregates keyed by workload and the container instances feeding them (pure).
//!
//! Upstream keys aggregates by namespace, container name and the pod's whole label set, then
//! merges those matching a VPA per container name. Keying directly by (namespace, workload,
//! container) gives the same merged history without the merge: every instance of a container
//! of a workload feeds one [`AggregateContainerState`], each through its own [`ContainerState`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::aggregate::AggregateContainerState;
use super::config::AggregationsConfig;
use super::container::{ContainerState, OomError};
use super::types::{ContainerUsageSample, ResourceAmount, Timestamp};

/// Identifies the aggregate of one container of one workload. The names are shared strings:
/// every instance of a workload's container carries its aggregate's key, and at 100k instances
/// owned copies of the names were about a fifth of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateKey {
    /// Namespace of the workload.
    pub namespace: Arc<str>,
    /// Name of the workload (the VPA's target controller).
    pub workload: Arc<str>,
    /// Container name.
    pub container: Arc<str>,
}

/// Identifies one container instance: a container of a pod (names shared with the pod cache).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId {
    /// Namespace of the pod.
    pub namespace: Arc<str>,
    /// Pod name.
    pub pod: Arc<str>,
    /// Container name.
    pub container: Arc<str>,
}

/// One container instance. Its aggregate's namespace and container name are those of its
/// [`ContainerId`], so only the workload is kept: at 100k instances a whole key per instance was
/// 4 MiB of the instance map.
#[derive(Clone, Debug)]
struct Instance {
    workload: Arc<str>,
    state: ContainerState,
}

/// The key of the aggregate the instance `id` of a container of `workload` feeds.
fn aggregate_key(id: &ContainerId, workload: &Arc<str>) -> AggregateKey {
    AggregateKey {
        namespace: id.namespace.clone(),
        workload: workload.clone(),
        container: id.container.clone(),
    }
}

/// All aggregates and the instances feeding them.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    config: AggregationsConfig,
    aggregates: HashMap<AggregateKey, AggregateContainerState>,
    instances: HashMap<ContainerId, Instance>,
    /// Workload names, one shared string each for all its instances and aggregates.
    workloads: HashSet<Arc<str>>,
}

impl ClusterState {
    /// An empty model aggregating with `config`.
    pub fn new(config: AggregationsConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Makes room for `instances` container instances at once, so a first feed of many does not
    /// grow the map step by step (each growth holds the old and the new table).
    pub fn reserve_instances(&mut self, instances: usize) {
        if let Some(more) = instances.checked_sub(self.instances.len()) {
            self.instances.reserve(more);
        }
    }

    /// The aggregation settings.
    pub fn config(&self) -> &AggregationsConfig {
        &self.config
    }

    /// Every aggregate.
    pub fn aggregates(&self) -> &HashMap<AggregateKey, AggregateContainerState> {
        &self.aggregates
    }

    /// The state of one instance, if it was seen.
    pub fn container(&self, id: &ContainerId) -> Option<&ContainerState> {
        self.instances.get(id).map(|i| &i.state)
    }

    /// Instances feeding `key`, with their state (used to leave their open memory windows out of
    /// checkpoints).
    pub fn containers_of<'a>(
        &'a self,
        key: &'a AggregateKey,
    ) -> impl Iterator<Item = &'a ContainerState> + 'a {
        self.instances
            .iter()
            .filter(move |(id, i)| {
                id.namespace == key.namespace
                    && id.container == key.container
                    && i.workload == key.workload
            })
            .map(|(_, i)| &i.state)
    }

    /// Adds a usage sample of instance `id` of a container of `workload`. The instance and its
    /// aggregate are created on first sight, the aggregate with the sample's time as creation
    /// time. Returns whether the sample was aggregated (see [`ContainerState::add_sample`]).
    pub fn add_sample(
        &mut self,
        id: &ContainerId,
        workload: &str,
        sample: &ContainerUsageSample,
    ) -> bool {
        let (instance, aggregate, config) = self.instance(id, workload, sample.measure_start);
        instance.state.add_sample(sample, aggregate, config)
    }

    /// Records an OOM kill of instance `id` using `memory` bytes at `timestamp`
    /// (see [`ContainerState::record_oom`]).
    pub fn record_oom(
        &mut self,
        id: &ContainerId,
        workload: &str,
        timestamp: Timestamp,
        memory: ResourceAmount,
    ) -> Result<(), OomError> {
        let (instance, aggregate, config) = self.instance(id, workload, timestamp);
        instance
            .state
            .record_oom(timestamp, memory, aggregate, config)
    }

    /// Drops aggregates expired at `now` (see [`AggregateContainerState::is_expired`]) and the
    /// instances that fed them. Returns the keys removed.
    pub fn garbage_collect(&mut self, now: Timestamp) -> Vec<AggregateKey> {
        let config = &self.config;
        let expired: Vec<AggregateKey> = self
            .aggregates
            .iter()
            .filter(|(_, a)| a.is_expired(now, config))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &expired {
            self.aggregates.remove(key);
        }
        self.instances.retain(|id, i| {
            self.aggregates
                .contains_key(&aggregate_key(id, &i.workload))
        });
        self.workloads = self.aggregates.keys().map(|k| k.workload.clone()).collect();
        expired
    }

    /// Every aggregate's instances, gathered in one pass (checkpointing many aggregates would be
    /// quadratic through [`Self::containers_of`]).
    pub fn containers_by_aggregate(&self) -> HashMap<&AggregateKey, Vec<&ContainerState>> {
        let mut out: HashMap<&AggregateKey, Vec<&ContainerState>> = HashMap::new();
        for (id, instance) in &self.instances {
            // Every instance's aggregate exists: both are dropped together.
            if let Some((key, _)) = self
                .aggregates
                .get_key_value(&aggregate_key(id, &instance.workload))
            {
                out.entry(key).or_default().push(&instance.state);
            }
        }
        out
    }

    /// Merges restored history (a checkpoint) into the aggregate `key`, creating it if needed.
    pub fn restore(&mut self, mut key: AggregateKey, state: &AggregateContainerState) {
        key.workload = self.shared_workload(&key.workload);
        match self.aggregates.get_mut(&key) {
            Some(existing) => existing.merge(state),
            None => {
                self.aggregates.insert(key, state.clone());
            }
        }
    }

    /// Forgets the container instances for which `keep` is false (pods that are gone); their
    /// aggregates keep the history they contributed.
    pub fn retain_containers(&mut self, mut keep: impl FnMut(&ContainerId) -> bool) {
        self.instances.retain(|id, _| keep(id));
    }

    /// The one shared string for the workload name `workload`.
    fn shared_workload(&mut self, workload: &str) -> Arc<str> {
        if let Some(shared) = self.workloads.get(workload) {
            return shared.clone();
        }
        let shared: Arc<str> = workload.into();
        self.workloads.insert(shared.clone());
        shared
    }

    fn instance(
        &mut self,
        id: &ContainerId,
        workload: &str,
        now: Timestamp,
    ) -> (
        &mut Instance,
        &mut AggregateContainerState,
        &AggregationsConfig,
    ) {
        // Look up before inserting so the hot path clones no key.
        if !self.instances.contains_key(id) {
            let workload = self.shared_workload(workload);
            let state = ContainerState::new();
            self.instances
                .insert(id.clone(), Instance { workload, state });
        }
        let instance = self.instances.get_mut(id).expect("inserted above");
        let key = aggregate_key(id, &instance.workload);
        let aggregate = self
            .aggregates
            .entry(key)
            .or_insert_with(|| AggregateContainerState::new(&self.config, now));
        (instance, aggregate, &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::types::{DAY, Resource};

    const T0: Timestamp = 1_795_132_800;

    fn id(pod: &str) -> ContainerId {
        ContainerId {
            namespace: "default".into(),
            pod: pod.into(),
            container: "app".into(),
        }
    }

    fn cpu(t: Timestamp) -> ContainerUsageSample {
        ContainerUsageSample {
            measure_start: t,
            usage: 500,
            resource: Resource::Cpu,
        }
    }

    #[test]
    fn pods_of_a_workload_share_one_aggregate() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        assert!(cluster.add_sample(&id("web-1"), "web", &cpu(T0)));
        assert!(cluster.add_sample(&id("web-2"), "web", &cpu(T0)));
        assert!(
            !cluster.add_sample(&id("web-2"), "web", &cpu(T0)),
            "duplicate"
        );
        assert_eq!(cluster.aggregates().len(), 1);
        let key = AggregateKey {
            namespace: "default".into(),
            workload: "web".into(),
            container: "app".into(),
        };
        assert_eq!(cluster.aggregates()[&key].total_samples_count, 2);
        assert_eq!(cluster.containers_of(&key).count(), 2);
    }

    #[test]
    fn instances_and_aggregates_of_a_workload_share_its_name() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        let restored = AggregateKey {
            namespace: "default".into(),
            workload: "web".into(),
            container: "sidecar".into(),
        };
        let state = AggregateContainerState::new(cluster.config(), T0);
        cluster.restore(restored, &state);
        cluster.add_sample(&id("web-1"), "web", &cpu(T0));
        cluster.add_sample(&id("web-2"), "web", &cpu(T0));
        let names: Vec<&Arc<str>> = cluster
            .instances
            .values()
            .map(|i| &i.workload)
            .chain(cluster.aggregates.keys().map(|k| &k.workload))
            .collect();
        assert_eq!(names.len(), 4);
        assert!(names.iter().all(|n| Arc::ptr_eq(n, names[0])));
        let by_aggregate = cluster.containers_by_aggregate();
        assert_eq!(
            by_aggregate.len(),
            1,
            "the restored aggregate has no instance"
        );
        assert_eq!(by_aggregate.values().next().unwrap().len(), 2);
    }

    #[test]
    fn garbage_collection_drops_expired_aggregates_and_their_instances() {
        let mut cluster = ClusterState::new(AggregationsConfig::default());
        cluster.add_sample(&id("old-1"), "old", &cpu(T0));
        cluster.add_sample(&id("new-1"), "new", &cpu(T0 + 5 * DAY));
        let removed = cluster.garbage_collect(T0 + 8 * DAY);
        assert_eq!(removed.len(), 1);
        assert_eq!(&*removed[0].workload, "old");
        assert!(cluster.container(&id("old-1")).is_none());
        assert!(cluster.container(&id("new-1")).is_some());
        let names: Vec<&str> = cluster.workloads.iter().map(|w| &**w).collect();
        assert_eq!(names, ["new"], "the collected workload's name is forgotten");
    }
}
