//! LimitRange bounds of a namespace, merged as upstream does (pure).
//!
//! A namespace may hold several LimitRange objects. For each item type (`Container`, `Pod`) the
//! VPA merges them into one: the lowest `max` per resource, the highest `min` per resource, and
//! the `default` map of the last item that has one. Amounts are millicores for CPU and bytes for
//! memory.

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem};

use crate::api::ResourceList;
use crate::resources::{self, Amounts};

/// LimitRange item type for per-container bounds.
pub const CONTAINER: &str = "Container";
/// LimitRange item type for whole-pod bounds.
pub const POD: &str = "Pod";

/// Merged bounds of one LimitRange item type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LimitBounds {
    /// Lowest allowed value per resource (the highest `min` of all items).
    pub min: Amounts,
    /// Highest allowed value per resource (the lowest `max` of all items).
    pub max: Amounts,
    /// Limit applied to containers that set none (the last `default` seen).
    pub default: Amounts,
}

/// The merged `Container` and `Pod` bounds of a namespace; `None` when no item of that type sets
/// min, max or default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceLimits {
    /// Per-container bounds.
    pub container: Option<LimitBounds>,
    /// Whole-pod bounds.
    pub pod: Option<LimitBounds>,
}

impl NamespaceLimits {
    /// Merges every LimitRange of one namespace.
    pub fn from_limit_ranges<'a>(ranges: impl IntoIterator<Item = &'a LimitRange> + Clone) -> Self {
        Self {
            container: merge(ranges.clone(), CONTAINER),
            pod: merge(ranges, POD),
        }
    }

    /// The container `default` limits, empty when there are none.
    pub fn container_defaults(&self) -> Amounts {
        self.container
            .as_ref()
            .map(|b| b.default.clone())
            .unwrap_or_default()
    }
}

fn lossy_amounts(list: Option<&ResourceList>) -> Option<Amounts> {
    list.map(|l| {
        l.iter()
            .filter_map(|(name, q)| Some((name.clone(), resources::amount(name, q).ok()?)))
            .collect()
    })
}

fn pick(into: &mut Amounts, from: &Amounts, keep_new: fn(i64, i64) -> bool) {
    for (name, &value) in from {
        into.entry(name.clone())
            .and_modify(|old| {
                if keep_new(*old, value) {
                    *old = value;
                }
            })
            .or_insert(value);
    }
}

/// Merges the items of type `kind` (`Container` or `Pod`) of all `ranges`.
pub fn merge<'a>(
    ranges: impl IntoIterator<Item = &'a LimitRange>,
    kind: &str,
) -> Option<LimitBounds> {
    let items = ranges
        .into_iter()
        .filter_map(|lr| lr.spec.as_ref())
        .flat_map(|spec| spec.limits.iter())
        .filter(|item| item.type_ == kind);
    merge_items(items)
}

/// Merges LimitRange items that all have the wanted type.
pub fn merge_items<'a>(items: impl IntoIterator<Item = &'a LimitRangeItem>) -> Option<LimitBounds> {
    let mut bounds = LimitBounds::default();
    let mut any = false;
    for item in items {
        if item.max.is_none() && item.min.is_none() && item.default.is_none() {
            continue;
        }
        any = true;
        if let Some(default) = lossy_amounts(item.default.as_ref()) {
            bounds.default = default;
        }
        if let Some(max) = lossy_amounts(item.max.as_ref()) {
            pick(&mut bounds.max, &max, |old, new| new < old);
        }
        if let Some(min) = lossy_amounts(item.min.as_ref()) {
            pick(&mut bounds.min, &min, |old, new| new > old);
        }
    }
    any.then_some(bounds)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::LimitRangeSpec;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Option<ResourceList> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect(),
        )
    }

    fn range(
        kind: &str,
        min: &[(&str, &str)],
        max: &[(&str, &str)],
        default: &[(&str, &str)],
    ) -> LimitRange {
        let opt = |p: &[(&str, &str)]| if p.is_empty() { None } else { list(p) };
        LimitRange {
            spec: Some(LimitRangeSpec {
                limits: vec![LimitRangeItem {
                    type_: kind.to_string(),
                    min: opt(min),
                    max: opt(max),
                    default: opt(default),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn merging_keeps_lowest_max_highest_min_and_last_default() {
        let a = range(
            CONTAINER,
            &[("cpu", "100m")],
            &[("cpu", "2"), ("memory", "1Gi")],
            &[("cpu", "1")],
        );
        let b = range(
            CONTAINER,
            &[("cpu", "200m"), ("memory", "10Mi")],
            &[("cpu", "3")],
            &[("memory", "512Mi")],
        );
        let merged = NamespaceLimits::from_limit_ranges([&a, &b]);
        let c = merged.container.unwrap();
        assert_eq!(
            c.min,
            [("cpu".into(), 200), ("memory".into(), 10 << 20)].into()
        );
        assert_eq!(
            c.max,
            [("cpu".into(), 2000), ("memory".into(), 1 << 30)].into()
        );
        assert_eq!(c.default, [("memory".into(), 512 << 20)].into());
        assert_eq!(merged.pod, None);
    }

    #[test]
    fn items_of_other_type_or_without_bounds_are_ignored() {
        let pod = range(POD, &[], &[("cpu", "4")], &[]);
        let empty = range(CONTAINER, &[], &[], &[]);
        let merged = NamespaceLimits::from_limit_ranges([&pod, &empty]);
        assert_eq!(merged.container, None);
        assert_eq!(merged.pod.unwrap().max, [("cpu".into(), 4000)].into());
    }
}
