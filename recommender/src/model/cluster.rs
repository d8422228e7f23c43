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
use super::overrides::WorkloadOverrides;
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

/// The summed histogram weight of every aggregate: how much history the model holds. Logged
/// with each loop and each restore, so a failover can be judged by how much of the old leader's
/// history the new one restored. CPU weight is [`CPU_SAMPLE_WEIGHT`] per sample; memory weight
/// is one per closed (or open) aggregation window and container instance. Both are relative to
/// each histogram's reference time, so they compare within a half-life (24 h by default).
///
/// [`CPU_SAMPLE_WEIGHT`]: super::types::CPU_SAMPLE_WEIGHT
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HistoryWeight {
    /// Sum of the CPU histograms' total weights.
    pub cpu: f64,
    /// Sum of the memory-peak histograms' total weights.
    pub memory: f64,
}

impl HistoryWeight {
    /// The summed weight of `aggregates`.
    fn of<'a>(aggregates: impl Iterator<Item = &'a AggregateContainerState>) -> Self {
        aggregates.fold(Self::default(), |sum, a| Self {
            cpu: sum.cpu + a.cpu_usage.histogram().total_weight(),
            memory: sum.memory + a.memory_peaks.histogram().total_weight(),
        })
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
    /// Per-VPA settings of some workloads' containers (feature gate `PerVPAConfig`).
    overrides: WorkloadOverrides,
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

    /// Replaces the per-VPA settings (upstream updates them from the VPAs every loop). Samples
    /// and OOM kills from now on, and the expiry of aggregates, follow them.
    pub fn set_overrides(&mut self, overrides: WorkloadOverrides) {
        self.overrides = overrides;
    }

    /// The settings of the aggregate of `container` of `workload` in `namespace`: the flags',
    /// with that container's per-VPA overrides applied.
    pub fn config_for(
        &self,
        namespace: &str,
        workload: &str,
        container: &str,
    ) -> AggregationsConfig {
        if self.overrides.is_empty() {
            return self.config;
        }
        match self.overrides.get(namespace, workload, container) {
            Some(overrides) => self.config.with(overrides),
            None => self.config,
        }
    }

    /// Every aggregate.
    pub fn aggregates(&self) -> &HashMap<AggregateKey, AggregateContainerState> {
        &self.aggregates
    }

    /// The summed weight of all aggregates' histograms.
    pub fn history_weight(&self) -> HistoryWeight {
        HistoryWeight::of(self.aggregates.values())
    }

    /// The summed weight of the histograms of the aggregates `keys` (each counted once; keys
    /// without an aggregate add nothing).
    pub fn history_weight_of<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a AggregateKey>,
    ) -> HistoryWeight {
        let keys: HashSet<&AggregateKey> = keys.into_iter().collect();
        HistoryWeight::of(keys.into_iter().filter_map(|k| self.aggregates.get(k)))
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
        instance.state.add_sample(sample, aggregate, &config)
    }

    /// Records an OOM kill of instance `id` using `memory` bytes at `timestamp`; returns the
    /// bumped-up memory recorded (see [`ContainerState::record_oom`]).
    pub fn record_oom(
        &mut self,
        id: &ContainerId,
        workload: &str,
        timestamp: Timestamp,
        memory: ResourceAmount,
    ) -> Result<ResourceAmount, OomError> {
        let (instance, aggregate, config) = self.instance(id, workload, timestamp);
        instance
            .state
            .record_oom(timestamp, memory, aggregate, &config)
    }

    /// Drops aggregates expired at `now` (see [`AggregateContainerState::is_expired`], with each
    /// aggregate's own settings) and the instances that fed them. Returns the keys removed.
    pub fn garbage_collect(&mut self, now: Timestamp) -> Vec<AggregateKey> {
        let expired: Vec<AggregateKey> = self
            .aggregates
            .iter()
            .filter(|(k, a)| {
                a.is_expired(
                    now,
                    &self.config_for(&k.namespace, &k.workload, &k.container),
                )
            })
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
        AggregationsConfig,
    ) {
        // Look up before inserting so the hot path clones no key.
        if !self.instances.contains_key(id) {
            let workload = self.shared_workload(workload);
            let state = ContainerState::new();
            self.instances
                .insert(id.clone(), Instance { workload, state });
        }
        let config = match self.instances.get(id) {
            Some(i) => self.config_for(&id.namespace, &i.workload, &id.container),
            None => self.config,
        };
        let instance = self.instances.get_mut(id).expect("inserted above");
        let key = aggregate_key(id, &instance.workload);
        let aggregate = self
            .aggregates
            .entry(key)
            .or_insert_with(|| AggregateContainerState::new(&self.config, now));
        (instance, aggregate, config)
    }
}

#[cfg(test)]
mod tests;
