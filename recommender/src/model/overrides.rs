//! Which aggregates get per-VPA settings (pure): for each workload a VPA with `PerVPAConfig`
//! fields targets, the overrides by container name, resolved like every container policy (the
//! entry naming the container, else the `*` entry).

use std::collections::HashMap;
use std::sync::Arc;

use super::config::AggregationOverrides;

/// The overrides of one workload's containers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerOverrides {
    /// By container name, from policies naming a container (empty when such a policy sets none
    /// of the fields: it still shadows the wildcard).
    pub named: HashMap<String, AggregationOverrides>,
    /// From the `*` policy, for the containers not named.
    pub wildcard: Option<AggregationOverrides>,
}

impl ContainerOverrides {
    /// The overrides of `container`, if any applies (an empty named entry shadows the wildcard).
    pub fn for_container(&self, container: &str) -> Option<&AggregationOverrides> {
        match self.named.get(container) {
            Some(named) => (!named.is_empty()).then_some(named),
            None => self.wildcard.as_ref(),
        }
    }
}

/// Overrides by namespace and workload (the workload id of the model's aggregate keys).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadOverrides(HashMap<Arc<str>, HashMap<Arc<str>, ContainerOverrides>>);

impl WorkloadOverrides {
    /// Sets the overrides of `workload` in `namespace`; a workload seen before keeps its first
    /// ones (two VPAs on one workload are undefined upstream; the first handled one wins).
    pub fn insert(&mut self, namespace: &str, workload: &str, overrides: ContainerOverrides) {
        self.0
            .entry(namespace.into())
            .or_default()
            .entry(workload.into())
            .or_insert(overrides);
    }

    /// The overrides of `container` of `workload` in `namespace`.
    pub fn get(
        &self,
        namespace: &str,
        workload: &str,
        container: &str,
    ) -> Option<&AggregationOverrides> {
        self.0
            .get(namespace)?
            .get(workload)?
            .for_container(container)
    }

    /// Whether no workload has overrides (the model's hot path then skips the lookup).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_container_wins_over_the_wildcard_and_the_first_workload_entry_stays() {
        let ratio = |r| AggregationOverrides {
            oom_bump_up_ratio: Some(r),
            ..Default::default()
        };
        let mut overrides = WorkloadOverrides::default();
        overrides.insert(
            "ns",
            "Deployment/web",
            ContainerOverrides {
                named: [("app".to_string(), ratio(3.0))].into(),
                wildcard: Some(ratio(2.0)),
            },
        );
        overrides.insert("ns", "Deployment/web", ContainerOverrides::default());
        assert_eq!(
            overrides.get("ns", "Deployment/web", "app"),
            Some(&ratio(3.0))
        );
        assert_eq!(
            overrides.get("ns", "Deployment/web", "proxy"),
            Some(&ratio(2.0))
        );
        assert_eq!(overrides.get("ns", "Deployment/other", "app"), None);
        assert_eq!(overrides.get("other", "Deployment/web", "app"), None);
    }
}
