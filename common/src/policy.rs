//! Container policy lookup and VPA mode helpers (pure).
//!
//! Every component resolves a container's policy the same way: an entry naming the container
//! exactly wins over the `*` default entry; without either, the container has no policy and all
//! defaults apply (mode `Auto`, controlled resources `[cpu, memory]`, controlled values
//! `RequestsAndLimits`).

use crate::api::{
    ContainerControlledValues, ContainerResourcePolicy, ContainerScalingMode,
    DEFAULT_CONTAINER_POLICY, PodResourcePolicy, UpdateMode, VerticalPodAutoscaler,
};
use crate::resources::{Amounts, CPU, MEMORY};

/// The policy that applies to `container`: its own entry, else the `*` entry, else none.
pub fn container_policy<'a>(
    container: &str,
    policy: Option<&'a PodResourcePolicy>,
) -> Option<&'a ContainerResourcePolicy> {
    let entries = policy?.container_policies.as_deref()?;
    let named = |name: &str| {
        entries
            .iter()
            .find(|p| p.container_name.as_deref() == Some(name))
    };
    named(container).or_else(|| named(DEFAULT_CONTAINER_POLICY))
}

/// The scaling mode of `container` (default `Auto`).
pub fn container_mode(container: &str, policy: Option<&PodResourcePolicy>) -> ContainerScalingMode {
    container_policy(container, policy)
        .and_then(|p| p.mode)
        .unwrap_or_default()
}

/// Whether the autoscaler is switched off for `container` (`mode: Off`).
pub fn is_container_off(container: &str, policy: Option<&PodResourcePolicy>) -> bool {
    container_mode(container, policy) == ContainerScalingMode::Off
}

/// The resources recommended for `container` (default `[cpu, memory]`).
pub fn controlled_resources(container: &str, policy: Option<&PodResourcePolicy>) -> Vec<String> {
    container_policy(container, policy)
        .and_then(|p| p.controlled_resources.clone())
        .unwrap_or_else(|| vec![CPU.to_string(), MEMORY.to_string()])
}

/// Whether requests only or requests and limits are set for `container` (default
/// `RequestsAndLimits`).
pub fn controlled_values(
    container: &str,
    policy: Option<&PodResourcePolicy>,
) -> ContainerControlledValues {
    container_policy(container, policy)
        .and_then(|p| p.controlled_values)
        .unwrap_or_default()
}

/// Keeps only the resources in `controlled`.
pub fn filter_controlled(amounts: &Amounts, controlled: &[String]) -> Amounts {
    amounts
        .iter()
        .filter(|(name, _)| controlled.iter().any(|c| c == *name))
        .map(|(name, v)| (name.clone(), *v))
        .collect()
}

/// The `PerVPAConfig` (alpha) fields `policy` sets, by their API names, in declaration order:
/// what the webhook refuses and the recommender ignores while the gate is off.
pub fn per_vpa_config_fields(policy: &ContainerResourcePolicy) -> Vec<&'static str> {
    [
        ("oomBumpUpRatio", policy.oom_bump_up_ratio.is_some()),
        ("oomMinBumpUp", policy.oom_min_bump_up.is_some()),
        (
            "memoryAggregationIntervalSeconds",
            policy.memory_aggregation_interval_seconds.is_some(),
        ),
        (
            "memoryAggregationIntervalCount",
            policy.memory_aggregation_interval_count.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// The VPA's update mode; a missing policy or mode means `Recreate`, as upstream.
pub fn update_mode(vpa: &VerticalPodAutoscaler) -> UpdateMode {
    UpdateMode::or_default(vpa.spec.update_policy.as_ref().and_then(|p| p.update_mode))
}

/// Whether the VPA configures a CPU startup boost, at pod or container level.
pub fn has_startup_boost(vpa: &VerticalPodAutoscaler) -> bool {
    let pod_level = vpa
        .spec
        .startup_boost
        .as_ref()
        .is_some_and(|b| b.cpu.is_some());
    let container_level = vpa
        .spec
        .resource_policy
        .as_ref()
        .and_then(|p| p.container_policies.as_ref())
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p.startup_boost.as_ref().is_some_and(|b| b.cpu.is_some()))
        });
    pod_level || container_level
}

/// Whether the admission controller acts on pods of this VPA: any mode but `Off`, or `Off`
/// with a startup boost configured.
pub fn admission_applies(vpa: &VerticalPodAutoscaler) -> bool {
    update_mode(vpa) != UpdateMode::Off || has_startup_boost(vpa)
}

/// Which namespaces' VPAs a component handles (`--vpa-object-namespace`,
/// `--ignored-vpa-object-namespaces`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceFilter {
    /// Only this namespace when set (`--vpa-object-namespace`).
    pub only: Option<String>,
    /// Never these namespaces (`--ignored-vpa-object-namespaces`).
    pub ignored: Vec<String>,
}

impl NamespaceFilter {
    /// Whether objects in `namespace` are handled.
    pub fn allows(&self, namespace: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == namespace)
            && !self.ignored.iter().any(|n| n == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[(&str, Option<ContainerScalingMode>)]) -> PodResourcePolicy {
        PodResourcePolicy {
            container_policies: Some(
                entries
                    .iter()
                    .map(|(name, mode)| ContainerResourcePolicy {
                        container_name: Some(name.to_string()),
                        mode: *mode,
                        ..Default::default()
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn exact_name_wins_over_wildcard_in_any_order() {
        let p = policy(&[
            ("*", Some(ContainerScalingMode::Off)),
            ("app", Some(ContainerScalingMode::Auto)),
        ]);
        assert_eq!(container_mode("app", Some(&p)), ContainerScalingMode::Auto);
        assert_eq!(
            container_mode("sidecar", Some(&p)),
            ContainerScalingMode::Off
        );
    }

    #[test]
    fn container_without_policy_gets_defaults() {
        let p = policy(&[("other", Some(ContainerScalingMode::Off))]);
        assert!(container_policy("app", Some(&p)).is_none());
        assert!(!is_container_off("app", Some(&p)));
        assert_eq!(controlled_resources("app", None), vec!["cpu", "memory"]);
        assert_eq!(
            controlled_values("app", None),
            ContainerControlledValues::RequestsAndLimits
        );
    }

    #[test]
    fn filter_controlled_drops_other_resources() {
        let a: Amounts = [("cpu".into(), 5), ("memory".into(), 7)].into();
        let only_cpu = filter_controlled(&a, &["cpu".to_string()]);
        assert_eq!(only_cpu, [("cpu".to_string(), 5)].into());
    }

    #[test]
    fn namespace_filter_honours_only_and_ignored() {
        let all = NamespaceFilter::default();
        assert!(all.allows("a"));
        let only = NamespaceFilter {
            only: Some("a".into()),
            ignored: vec![],
        };
        assert!(only.allows("a") && !only.allows("b"));
        let ignored = NamespaceFilter {
            only: None,
            ignored: vec!["kube-system".into()],
        };
        assert!(ignored.allows("a") && !ignored.allows("kube-system"));
    }
}
