//! Pods to VPAs (pure): each live pod goes to the strongest VPA whose target is the pod's
//! topmost controller and whose selector selects it, through an index by target.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::matching::{self, ControllerLookup, OwnerError};

use crate::pod::PodKey;
use crate::snapshot::Snapshot;

type Candidates<'a> = Vec<(usize, &'a VerticalPodAutoscaler, LabelSelector)>;

/// Groups live pods by the VPA controlling them. Returns, per handled VPA index, its pods.
///
/// Allocation-light: VPAs are indexed by `namespace → kind → name` of their target with keys
/// borrowed from the snapshot, and the ownership walk is done once per direct owner (all pods of
/// a ReplicaSet share it), not once per pod.
pub(super) fn match_pods<'a>(
    snapshot: &'a Snapshot,
    handled: &[(usize, &'a VerticalPodAutoscaler)],
    owner_errors: &mut Vec<(PodKey, OwnerError)>,
) -> HashMap<usize, Vec<&'a Pod>> {
    let mut by_target: HashMap<&'a str, HashMap<&'a str, HashMap<&'a str, Candidates<'a>>>> =
        HashMap::new();
    for &(i, vpa) in handled {
        let namespace = vpa.metadata.namespace.as_deref().unwrap_or_default();
        let target = &vpa.spec.target_ref;
        let Some(selector) = snapshot
            .controllers
            .selector(namespace, &matching::target_key(vpa))
        else {
            continue;
        };
        by_target
            .entry(namespace)
            .or_default()
            .entry(target.kind.as_str())
            .or_default()
            .entry(target.name.as_str())
            .or_default()
            .push((i, vpa, selector));
    }
    type Walk = Result<Option<matching::ControllerKey>, OwnerError>;
    let mut walks: HashMap<(&'a str, &'a str, &'a str), Walk> = HashMap::new();
    let mut out: HashMap<usize, Vec<&Pod>> = HashMap::new();
    let no_labels = Default::default();
    for pod in snapshot.pods.iter().map(|p| p.as_ref()) {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let Some(in_namespace) = by_target.get(namespace) else {
            continue;
        };
        let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
        let Some(direct) = matching::controller_ref(owners) else {
            continue;
        };
        let walk = walks
            .entry((namespace, direct.kind.as_str(), direct.name.as_str()))
            .or_insert_with(|| {
                matching::topmost_controller(namespace, owners, &snapshot.controllers)
            });
        let controller = match walk {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                owner_errors.push((PodKey::of(pod), e.clone()));
                continue;
            }
        };
        let Some(candidates) = in_namespace
            .get(controller.kind.as_str())
            .and_then(|by_name| by_name.get(controller.name.as_str()))
        else {
            continue;
        };
        let labels = pod.metadata.labels.as_ref().unwrap_or(&no_labels);
        let winner = candidates
            .iter()
            .filter(|(_, _, sel)| matching::selector_matches(sel, labels).unwrap_or(false))
            .min_by(|a, b| matching::compare_strength(a.1, b.1));
        if let Some((i, _, _)) = winner {
            out.entry(*i).or_default().push(pod);
        }
    }
    out
}
