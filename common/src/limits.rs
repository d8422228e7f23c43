//! Limits kept in proportion to requests (pure).
//!
//! When the VPA changes a container's request it scales the limit by the same factor, so the
//! limit:request ratio the user chose survives: `newLimit = originalLimit × newRequest /
//! originalRequest`. All arithmetic is on integer amounts (millicores for CPU, bytes for memory),
//! floored, exact through `i128`; a result beyond `i64` is capped to `i64::MAX` and noted.

use crate::resources::{Amounts, CPU, MEMORY};

/// `value × numerator / denominator`, floored, and whether it had to be capped to `i64::MAX`.
/// A zero denominator yields `i64::MAX` (capped), never a panic.
pub fn scale_proportionally(value: i64, denominator: i64, numerator: i64) -> (i64, bool) {
    if denominator == 0 {
        return (i64::MAX, true);
    }
    let scaled = (i128::from(value) * i128::from(numerator)).div_euclid(i128::from(denominator));
    match i64::try_from(scaled) {
        Ok(v) => (v, false),
        Err(_) => (i64::MAX, true),
    }
}

fn set(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v > 0)
}

/// The limit for a new request of one resource, with the note upstream writes when it sets no
/// limit or caps the limit. `None` means "write no limit".
///
/// * the original limit (or, when it is absent or zero, `default_limit` from the LimitRange)
///   missing: no limit;
/// * the new request missing or zero: no limit;
/// * the original request missing or zero, or equal to the limit: limit = new request;
/// * otherwise the limit scaled in proportion, capped to `i64::MAX` on overflow.
pub fn proportional_limit(
    resource: &str,
    original_limit: Option<i64>,
    original_request: Option<i64>,
    new_request: Option<i64>,
    default_limit: Option<i64>,
) -> (Option<i64>, Option<String>) {
    let Some(limit) = set(original_limit).or(set(default_limit)) else {
        return (
            None,
            Some(format!(
                "{resource}: limit NOT set since originalLimit is nil or 0"
            )),
        );
    };
    let Some(new_request) = set(new_request) else {
        return (
            None,
            Some(format!(
                "{resource}: limit NOT set since recommendedRequest is nil or 0"
            )),
        );
    };
    let Some(request) = set(original_request) else {
        return (Some(new_request), None);
    };
    if request == limit {
        return (Some(new_request), None);
    }
    let (scaled, capped) = scale_proportionally(limit, request, new_request);
    let note = capped.then(|| {
        format!("{resource}: failed to keep limit to request ratio; capping limit to int64")
    });
    (Some(scaled), note)
}

/// Limits for new CPU and memory requests (see [`proportional_limit`]). `None` when neither
/// resource gets a limit; the notes are those of both resources.
pub fn proportional_limits(
    original_limits: &Amounts,
    original_requests: &Amounts,
    new_requests: &Amounts,
    default_limits: &Amounts,
) -> (Option<Amounts>, Vec<String>) {
    let mut limits = Amounts::new();
    let mut notes = Vec::new();
    for resource in [CPU, MEMORY] {
        let (limit, note) = proportional_limit(
            resource,
            original_limits.get(resource).copied(),
            original_requests.get(resource).copied(),
            new_requests.get(resource).copied(),
            default_limits.get(resource).copied(),
        );
        if let Some(limit) = limit {
            limits.insert(resource.to_string(), limit);
        }
        notes.extend(note);
    }
    if limits.is_empty() {
        (None, Vec::new())
    } else {
        (Some(limits), notes)
    }
}

/// The request that puts the container's limit exactly at `boundary_limit` while keeping its
/// limit:request ratio; `0` (no boundary) when the container has no limit and no default limit
/// applies, and `boundary_limit` itself when the container has a limit but no request.
pub fn boundary_request(
    original_request: Option<i64>,
    original_limit: Option<i64>,
    boundary_limit: i64,
    default_limit: Option<i64>,
) -> i64 {
    let Some(limit) = set(original_limit).or(set(default_limit)) else {
        return 0;
    };
    let Some(request) = set(original_request) else {
        return boundary_limit;
    };
    scale_proportionally(request, limit, boundary_limit).0
}

#[cfg(test)]
mod tests;
