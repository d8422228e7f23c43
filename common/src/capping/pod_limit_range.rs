//! Capping to a pod-level LimitRange (pure).
//!
//! A `Pod` LimitRange bounds the sums over all containers. For each of upperBound, target and
//! lowerBound, and for CPU then memory: when the summed recommendation is below the pod `min`,
//! every recommendation is scaled up by `min / Σrecommendation`; otherwise, when the summed
//! limits the recommendations would imply (limits scaled in proportion, see
//! [`crate::limits`]) fall outside `[min, max]`, every recommendation is scaled by
//! `bound / Σlimits`. Results are floored to whole millicores / bytes.

use crate::limitrange::LimitBounds;
use crate::limits::{proportional_limit, scale_proportionally};
use crate::resources::{Amounts, CPU, MEMORY};

use super::{ContainerRecommendation, PodContainer};

#[derive(Clone, Copy)]
enum Field {
    Upper,
    Target,
    Lower,
}

fn field(rec: &mut ContainerRecommendation, f: Field) -> &mut Amounts {
    match f {
        Field::Upper => &mut rec.upper_bound,
        Field::Target => &mut rec.target,
        Field::Lower => &mut rec.lower_bound,
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(0, i128::from(i64::MAX)) as i64
}

/// Adds, for containers without a recommendation but with requests, a recommendation whose
/// target is those requests, then caps every field to the pod bounds.
pub(super) fn cap(
    recs: &mut Vec<ContainerRecommendation>,
    containers: &[PodContainer],
    bounds: &LimitBounds,
) {
    for c in containers {
        if !c.requests.is_empty() && !recs.iter().any(|r| r.container_name == c.name) {
            recs.push(ContainerRecommendation::new(
                c.name.clone(),
                c.requests.clone(),
            ));
        }
    }
    for f in [Field::Upper, Field::Target, Field::Lower] {
        for resource in [CPU, MEMORY] {
            cap_field(recs, containers, bounds, resource, f);
        }
    }
}

fn cap_field(
    recs: &mut [ContainerRecommendation],
    containers: &[PodContainer],
    bounds: &LimitBounds,
    resource: &str,
    f: Field,
) {
    let min = bounds.min.get(resource).copied().unwrap_or(0);
    let max = bounds.max.get(resource).copied().unwrap_or(0);
    let default = bounds.default.get(resource).copied();
    let (mut sum_limit, mut sum_rec) = (0i128, 0i128);
    for c in containers {
        let request = c.requests.get(resource).copied();
        let value = match recs.iter_mut().find(|r| r.container_name == c.name) {
            Some(rec) => field(rec, f).get(resource).copied().unwrap_or(0),
            None => request.unwrap_or(0),
        };
        let (limit, _) = proportional_limit(
            resource,
            c.limits.get(resource).copied(),
            request,
            Some(value),
            default,
        );
        sum_limit += i128::from(limit.unwrap_or(0));
        sum_rec += i128::from(value);
    }
    let (min_w, max_w) = (i128::from(min), i128::from(max));
    if min_w <= sum_limit && min_w <= sum_rec && (max == 0 || max_w >= sum_limit) {
        return;
    }
    let (base, wanted) = if min_w > sum_rec && sum_limit != 0 {
        (clamp_i64(sum_rec), min)
    } else if sum_limit == 0 {
        return;
    } else {
        let mut wanted = 0;
        if min_w > sum_limit {
            wanted = min;
        }
        if max != 0 && max_w < sum_limit {
            wanted = max;
        }
        (clamp_i64(sum_limit), wanted)
    };
    for c in containers {
        let Some(rec) = recs.iter_mut().find(|r| r.container_name == c.name) else {
            continue;
        };
        if let Some(v) = field(rec, f).get_mut(resource) {
            *v = scale_proportionally(*v, base, wanted).0;
        }
    }
}
