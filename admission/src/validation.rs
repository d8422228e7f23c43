//! Validation and defaulting of VPA objects on CREATE and UPDATE (pure), per spec §4.4.
//!
//! A VPA is rejected with a message naming the offending field when upstream would reject it.
//! Valid VPAs may still draw warnings: the deprecated `Auto` mode, an HPA scaling the same target
//! on a resource the VPA controls, an evicting mode on a single-replica workload, and a
//! `controlledResources` entry other than cpu and memory kept from before an UPDATE.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use vpa_common::api::{
    ContainerControlledValues, ContainerScalingMode, ResourceList, StartupBoost, StartupBoostType,
    UpdateMode, VerticalPodAutoscaler,
};
use vpa_common::policy;
use vpa_common::quantity::Quantity;
use vpa_common::resources::{CPU, MEMORY};

pub use vpa_common::features::FeatureGates;

/// What the validator knows about the VPA's surroundings.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    /// The object before an UPDATE; `None` on CREATE.
    pub old: Option<&'a VerticalPodAutoscaler>,
    /// HPAs in the VPA's namespace.
    pub hpas: &'a [std::sync::Arc<HorizontalPodAutoscaler>],
    /// Desired replicas of the VPA's target when known.
    pub target_replicas: Option<i32>,
}

fn whole_millis(
    resource: &str,
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
) -> Result<(), String> {
    let parsed: Quantity = q.0.parse().map_err(|e| format!("{e}"))?;
    if resource == CPU && parsed.nanos() % 1_000_000 != 0 {
        return Err(format!("{resource} must be a whole number of milli CPUs"));
    }
    if resource == MEMORY && parsed.nanos() % 1_000_000_000 != 0 {
        return Err(format!("{resource} must be a whole number of bytes"));
    }
    Ok(())
}

fn check_list(field: &str, list: Option<&ResourceList>) -> Result<(), String> {
    for (resource, q) in list.into_iter().flatten() {
        whole_millis(resource, q).map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(())
}

fn check_boost(field: &str, boost: &StartupBoost, gates: FeatureGates) -> Result<(), String> {
    if !gates.cpu_startup_boost {
        return Err(format!("{field} requires feature gate CPUStartupBoost"));
    }
    let Some(cpu) = &boost.cpu else { return Ok(()) };
    match cpu.boost_type {
        StartupBoostType::Factor => match cpu.factor {
            Some(f) if f >= 1 => Ok(()),
            _ => Err(format!("{field}.cpu.factor must be >= 1")),
        },
        StartupBoostType::Quantity => match &cpu.quantity {
            Some(q) => whole_millis(CPU, q).map_err(|e| format!("{field}.cpu.quantity: {e}")),
            None => Err(format!(
                "{field}.cpu.quantity is required when type is Quantity"
            )),
        },
    }
}

/// Checks a VPA as upstream does; the error names the field.
pub fn validate(
    vpa: &VerticalPodAutoscaler,
    gates: FeatureGates,
    old: Option<&VerticalPodAutoscaler>,
) -> Result<(), String> {
    let spec = &vpa.spec;
    if let Some(update) = &spec.update_policy {
        let mode = update
            .update_mode
            .ok_or("spec.updatePolicy.updateMode is required if updatePolicy is used")?;
        let old_in_place = old.is_some_and(|o| policy::update_mode(o) == UpdateMode::InPlace);
        if mode == UpdateMode::InPlace && !gates.in_place && !old_in_place {
            return Err("spec.updatePolicy.updateMode InPlace requires feature gate InPlace in the admission controller and updater".into());
        }
        if let Some(n) = update.min_replicas
            && n <= 0
        {
            return Err(format!(
                "spec.updatePolicy.minReplicas has to be positive, got {n}"
            ));
        }
        if let Some(s) = update.evict_after_oom_seconds {
            let old_had = old.is_some_and(|o| {
                o.spec
                    .update_policy
                    .as_ref()
                    .is_some_and(|p| p.evict_after_oom_seconds.is_some())
            });
            if !gates.per_vpa_config && !old_had {
                return Err(
                    "spec.updatePolicy.evictAfterOOMSeconds requires feature gate PerVPAConfig"
                        .into(),
                );
            }
            if s < 1 {
                return Err(format!(
                    "spec.updatePolicy.evictAfterOOMSeconds must be at least 1, got {s}"
                ));
            }
        }
    }
    for (i, p) in spec
        .resource_policy
        .as_ref()
        .and_then(|r| r.container_policies.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("spec.resourcePolicy.containerPolicies[{i}]");
        if p.container_name.as_deref().unwrap_or_default().is_empty() {
            return Err(format!("{field}.containerName is required"));
        }
        check_list(&format!("{field}.minAllowed"), p.min_allowed.as_ref())?;
        check_list(&format!("{field}.maxAllowed"), p.max_allowed.as_ref())?;
        for (resource, min) in p.min_allowed.iter().flatten() {
            let max = p.max_allowed.as_ref().and_then(|m| m.get(resource));
            if let (Ok(min), Some(Ok(max))) = (
                min.0.parse::<Quantity>(),
                max.map(|m| m.0.parse::<Quantity>()),
            ) && max.nanos() < min.nanos()
            {
                return Err(format!(
                    "{field}: max resource for {resource} is lower than min"
                ));
            }
        }
        if p.mode == Some(ContainerScalingMode::Off)
            && p.controlled_values == Some(ContainerControlledValues::RequestsAndLimits)
        {
            return Err(format!(
                "{field}.controlledValues shouldn't be specified if container scaling mode is Off"
            ));
        }
        check_controlled_resources(&field, p, old)?;
        check_per_vpa_fields(&field, p, gates, old)?;
        if let Some(boost) = &p.startup_boost {
            check_boost(&format!("{field}.startupBoost"), boost, gates)?;
        }
    }
    if let Some(boost) = &spec.startup_boost {
        check_boost("spec.startupBoost", boost, gates)?;
    }
    if spec.recommenders.as_ref().is_some_and(|r| r.len() > 1) {
        return Err("spec.recommenders: the current version of VPA object shouldn't specify more than one recommenders".into());
    }
    Ok(())
}

/// The names in `controlledResources` of `vpa`'s container policies that are neither `cpu` nor
/// `memory`, with the index of their policy.
fn uncontrollable_resources(vpa: &VerticalPodAutoscaler) -> impl Iterator<Item = (usize, &str)> {
    let policies = vpa
        .spec
        .resource_policy
        .as_ref()
        .and_then(|r| r.container_policies.as_ref());
    policies
        .into_iter()
        .flatten()
        .enumerate()
        .flat_map(|(i, p)| {
            p.controlled_resources
                .iter()
                .flatten()
                .filter(|name| !CONTROLLABLE.contains(&name.as_str()))
                .map(move |name| (i, name.as_str()))
        })
}

/// The only resources the recommender computes, so the only ones `controlledResources` may name
/// (upstream #9951).
const CONTROLLABLE: [&str; 2] = [CPU, MEMORY];

/// Refuses a `controlledResources` entry other than `cpu` or `memory`, unless the object before
/// this UPDATE already had it: an existing VPA stays editable (it gets a warning instead, see
/// [`warnings`]), as the API server's validation ratcheting keeps it editable against the CRD.
fn check_controlled_resources(
    field: &str,
    p: &vpa_common::api::ContainerResourcePolicy,
    old: Option<&VerticalPodAutoscaler>,
) -> Result<(), String> {
    for (j, name) in p.controlled_resources.iter().flatten().enumerate() {
        let kept = old.is_some_and(|o| uncontrollable_resources(o).any(|(_, n)| n == name));
        if !CONTROLLABLE.contains(&name.as_str()) && !kept {
            return Err(format!(
                "{field}.controlledResources[{j}]: unsupported resource {name:?}: only cpu and memory can be controlled"
            ));
        }
    }
    Ok(())
}

/// Refuses `PerVPAConfig` fields without the gate (unless the object before this UPDATE already
/// used one, as upstream), naming the first such field; then checks their values.
fn check_per_vpa_fields(
    field: &str,
    p: &vpa_common::api::ContainerResourcePolicy,
    gates: FeatureGates,
    old: Option<&VerticalPodAutoscaler>,
) -> Result<(), String> {
    let Some(first) = vpa_common::policy::per_vpa_config_fields(p)
        .first()
        .copied()
    else {
        return Ok(());
    };
    let old_used = old.is_some_and(|o| {
        let ps = o
            .spec
            .resource_policy
            .as_ref()
            .and_then(|r| r.container_policies.as_ref());
        ps.into_iter()
            .flatten()
            .any(|op| !vpa_common::policy::per_vpa_config_fields(op).is_empty())
    });
    if !gates.per_vpa_config && !old_used {
        return Err(format!(
            "{field}.{first}: Forbidden: not supported when feature flag PerVPAConfig is disabled"
        ));
    }
    if let Some(r) = &p.oom_bump_up_ratio {
        let v: Quantity =
            r.0.parse()
                .map_err(|e| format!("{field}.oomBumpUpRatio: {e}"))?;
        if v.nanos() < 1_000_000_000 {
            return Err(format!(
                "{field}.oomBumpUpRatio must be greater than or equal to 1.0, got {}",
                r.0
            ));
        }
    }
    if let Some(b) = &p.oom_min_bump_up {
        let v: Quantity =
            b.0.parse()
                .map_err(|e| format!("{field}.oomMinBumpUp: {e}"))?;
        if v.nanos() < 0 {
            return Err(format!(
                "{field}.oomMinBumpUp must be greater than or equal to 0, got {}",
                b.0
            ));
        }
    }
    if p.memory_aggregation_interval_seconds.is_some_and(|s| s < 1) {
        return Err(format!(
            "{field}.memoryAggregationIntervalSeconds must be at least 1"
        ));
    }
    if p.memory_aggregation_interval_count.is_some_and(|c| c < 1) {
        return Err(format!(
            "{field}.memoryAggregationIntervalCount must be at least 1"
        ));
    }
    Ok(())
}

/// Resources an HPA scales its target on (`cpu`/`memory` Resource or ContainerResource
/// metrics; an HPA without metrics scales on CPU).
fn hpa_resources(hpa: &HorizontalPodAutoscaler) -> Vec<String> {
    let metrics = hpa.spec.as_ref().and_then(|s| s.metrics.as_ref());
    match metrics {
        None => vec![CPU.to_string()],
        Some(m) if m.is_empty() => vec![CPU.to_string()],
        Some(m) => m
            .iter()
            .filter_map(|m| {
                m.resource
                    .as_ref()
                    .map(|r| r.name.clone())
                    .or_else(|| m.container_resource.as_ref().map(|r| r.name.clone()))
            })
            .collect(),
    }
}

/// Warnings for a valid VPA.
pub fn warnings(vpa: &VerticalPodAutoscaler, ctx: &Context<'_>) -> Vec<String> {
    let mut out: Vec<String> = uncontrollable_resources(vpa)
        .map(|(i, name)| format!(
            "spec.resourcePolicy.containerPolicies[{i}].controlledResources: {name:?} is ignored; only cpu and memory can be controlled"
        ))
        .collect();
    let mode = policy::update_mode(vpa);
    if mode == UpdateMode::Auto {
        out.push("UpdateMode \"Auto\" is deprecated and behaves as \"Recreate\"; set \"Recreate\", \"Initial\" or \"InPlaceOrRecreate\" explicitly".into());
    }
    if mode != UpdateMode::Off {
        let target = &vpa.spec.target_ref;
        let pol = vpa.spec.resource_policy.as_ref();
        let controlled: Vec<String> = match pol.and_then(|p| p.container_policies.as_ref()) {
            Some(ps) if !ps.is_empty() => ps
                .iter()
                .filter(|p| p.mode != Some(ContainerScalingMode::Off))
                .flat_map(|p| {
                    policy::controlled_resources(p.container_name.as_deref().unwrap_or("*"), pol)
                })
                .collect(),
            _ => policy::controlled_resources("*", None),
        };
        for hpa in ctx.hpas {
            let Some(spec) = &hpa.spec else { continue };
            if spec.scale_target_ref.kind != target.kind
                || spec.scale_target_ref.name != target.name
            {
                continue;
            }
            let mut shared: Vec<String> = hpa_resources(hpa)
                .into_iter()
                .filter(|r| controlled.contains(r))
                .collect();
            shared.sort();
            shared.dedup();
            if !shared.is_empty() {
                let hpa_name = hpa.metadata.name.as_deref().unwrap_or_default();
                out.push(format!(
                    "HorizontalPodAutoscaler {hpa_name} scales the same target on {}: VPA and HPA must not act on the same resource",
                    shared.join(", ")
                ));
            }
        }
    }
    if mode.updates_running_pods() && ctx.target_replicas == Some(1) {
        let min_replicas = vpa.spec.update_policy.as_ref().and_then(|p| p.min_replicas);
        if min_replicas == Some(1) {
            out.push(format!(
                "updateMode {} with minReplicas 1 evicts the only replica of {} {}: expect downtime on each update",
                mode.as_str(), vpa.spec.target_ref.kind, vpa.spec.target_ref.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// The defaulting patch upstream applies: `add /spec/updatePolicy {"updateMode":"Recreate"}` when
/// the VPA has no update policy; empty otherwise.
pub fn defaulting_patch(vpa: &VerticalPodAutoscaler) -> Vec<json_patch::PatchOperation> {
    if vpa.spec.update_policy.is_some() {
        return Vec::new();
    }
    vec![json_patch::PatchOperation::Add(json_patch::AddOperation {
        path: json_patch::jsonptr::PointerBuf::from_tokens(["spec", "updatePolicy"]),
        value: serde_json::json!({ "updateMode": "Recreate" }),
    })]
}
