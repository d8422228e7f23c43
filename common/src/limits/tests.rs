//! The proportional-limit cases of upstream's `limit_and_request_scaling_test.go` (spec §7.2).

use super::*;

const G: i64 = 1_000_000_000;

struct Case {
    name: &'static str,
    limit: Option<i64>,
    request: Option<i64>,
    new_request: Option<i64>,
    default_limit: Option<i64>,
    want: Option<i64>,
    note: bool,
}

#[test]
fn proportional_limit_matches_upstream_cases() {
    // CPU amounts in millicores.
    let cases = [
        Case {
            name: "scale limit 2 request 1 to 10",
            limit: Some(2000),
            request: Some(1000),
            new_request: Some(10_000),
            default_limit: None,
            want: Some(20_000),
            note: false,
        },
        Case {
            name: "default limit 2 request 1 to 10",
            limit: None,
            request: Some(1000),
            new_request: Some(10_000),
            default_limit: Some(2000),
            want: Some(20_000),
            note: false,
        },
        Case {
            name: "no limit sets none",
            limit: None,
            request: Some(1000),
            new_request: Some(10_000),
            default_limit: None,
            want: None,
            note: true,
        },
        Case {
            name: "no request sets limit to new request",
            limit: Some(2000),
            request: None,
            new_request: Some(10_000),
            default_limit: None,
            want: Some(10_000),
            note: false,
        },
        Case {
            name: "zero new request sets none",
            limit: Some(2000),
            request: Some(1000),
            new_request: Some(0),
            default_limit: None,
            want: None,
            note: true,
        },
        Case {
            name: "equal limit and request stay equal",
            limit: Some(1000),
            request: Some(1000),
            new_request: Some(10_000),
            default_limit: None,
            want: Some(10_000),
            note: false,
        },
        Case {
            name: "limit 2 request 1.5 to 1 floors",
            limit: Some(2000),
            request: Some(1500),
            new_request: Some(1000),
            default_limit: None,
            want: Some(1333),
            note: false,
        },
        Case {
            name: "overflow caps to int64",
            limit: Some(10 * G * 1000),
            request: Some(1),
            new_request: Some(10 * G * 1000),
            default_limit: None,
            want: Some(i64::MAX),
            note: true,
        },
    ];
    for c in cases {
        let (got, note) =
            proportional_limit(CPU, c.limit, c.request, c.new_request, c.default_limit);
        assert_eq!(got, c.want, "{}", c.name);
        assert_eq!(note.is_some(), c.note, "{}: note {note:?}", c.name);
    }
}

#[test]
fn overflow_note_names_the_resource() {
    let (_, note) = proportional_limit(MEMORY, Some(10 * G), Some(1), Some(10 * G), None);
    assert_eq!(
        note.as_deref(),
        Some("memory: failed to keep limit to request ratio; capping limit to int64")
    );
}

#[test]
fn limit_ratio_is_kept_for_cpu_and_memory() {
    // 100m/150m -> 250m gives 375m; 100Mi/200Mi -> 200Mi gives 400Mi.
    let mi = 1 << 20;
    let limits: Amounts = [(CPU.into(), 150), (MEMORY.into(), 200 * mi)].into();
    let requests: Amounts = [(CPU.into(), 100), (MEMORY.into(), 100 * mi)].into();
    let new: Amounts = [(CPU.into(), 250), (MEMORY.into(), 200 * mi)].into();
    let (got, notes) = proportional_limits(&limits, &requests, &new, &Amounts::new());
    assert_eq!(
        got,
        Some([(CPU.into(), 375), (MEMORY.into(), 400 * mi)].into())
    );
    assert!(notes.is_empty());
}

#[test]
fn no_limits_at_all_gives_none_and_no_notes() {
    let new: Amounts = [(CPU.into(), 250)].into();
    let (got, notes) = proportional_limits(&Amounts::new(), &Amounts::new(), &new, &Amounts::new());
    assert_eq!(got, None);
    assert!(notes.is_empty());
}

#[test]
fn boundary_request_keeps_ratio() {
    // request 1, limit 2, LimitRange max 4 -> request may be at most 2.
    assert_eq!(boundary_request(Some(1000), Some(2000), 4000, None), 2000);
    assert_eq!(boundary_request(None, Some(2000), 4000, None), 4000);
    assert_eq!(boundary_request(Some(1000), None, 4000, None), 0);
    assert_eq!(boundary_request(Some(1000), None, 4000, Some(3000)), 1333);
}

#[test]
fn scaling_by_zero_is_capped_not_a_panic() {
    assert_eq!(scale_proportionally(5, 0, 7), (i64::MAX, true));
}
