use super::*;

#[test]
fn selector_matches_upstream_with_namespace_filter() {
    let cfg = HistoryConfig::default();
    assert_eq!(
        cfg.selector(None),
        r#"job="kubernetes-cadvisor", pod_name=~".+", name!="POD", name!="""#
    );
    assert_eq!(
        cfg.cpu_query(Some("shop")),
        r#"rate(container_cpu_usage_seconds_total{job="kubernetes-cadvisor", pod_name=~".+", name!="POD", name!="", namespace="shop"}[3600s])"#
    );
    assert!(
        cfg.memory_query(Some("a\"b"))
            .contains(r#"namespace="a\"b""#)
    );
}

#[test]
fn eight_days_hourly_fit_in_one_slice() {
    let cfg = HistoryConfig::default();
    let slices = cfg.slices(1_000_000);
    assert_eq!(slices, vec![(1_000_000 - 8 * 24 * 3600, 1_000_000)]);
}

#[test]
fn fine_resolution_is_split_below_the_point_limit_without_gaps_or_overlap() {
    let cfg = HistoryConfig {
        resolution: Duration::from_secs(60),
        ..HistoryConfig::default()
    };
    let end = 2_000_000_000;
    let slices = cfg.slices(end);
    assert!(
        slices.len() >= 2,
        "8 days at 1 minute is 11,521 points: must be split"
    );
    assert_eq!(slices[0].0, end - 8 * 24 * 3600);
    assert_eq!(slices.last().unwrap().1, end);
    for (from, to) in &slices {
        assert!(
            (to - from) / 60 < MAX_POINTS_PER_SERIES,
            "slice of {} points",
            (to - from) / 60 + 1
        );
    }
    for pair in slices.windows(2) {
        assert_eq!(
            pair[1].0,
            pair[0].1 + 60,
            "next slice starts one step after the previous ends"
        );
    }
}

#[test]
fn configured_slice_bounds_each_query() {
    let cfg = HistoryConfig {
        slice: Some(Duration::from_secs(24 * 3600)),
        ..HistoryConfig::default()
    };
    let slices = cfg.slices(10 * 24 * 3600);
    assert_eq!(slices.len(), 8);
    assert!(slices.iter().all(|(a, b)| b - a <= 24 * 3600));
}
