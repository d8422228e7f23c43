use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;

/// Upstream's test layout: buckets of size 1 from 0 to 10, epsilon 1e-15.
static LINEAR: LazyLock<HistogramOptions> =
    LazyLock::new(|| HistogramOptions::linear(10.0, 1.0, 1e-15).unwrap());

fn linear() -> Histogram {
    Histogram::new(&LINEAR)
}

#[test]
fn percentiles_are_upper_bucket_edges() {
    let mut h = linear();
    for i in 1..=4 {
        h.add_sample(f64::from(i), f64::from(i));
    }
    for (p, want) in [
        (0.0, 2.0),
        (0.1, 2.0),
        (0.2, 3.0),
        (0.3, 3.0),
        (0.4, 4.0),
        (0.5, 4.0),
        (0.6, 4.0),
        (0.7, 5.0),
        (0.8, 5.0),
        (0.9, 5.0),
        (1.0, 5.0),
    ] {
        assert_eq!(h.percentile(p), want, "P{p}");
    }
}

#[test]
fn percentiles_outside_zero_to_one_clamp_to_the_edges() {
    static OPTIONS: LazyLock<HistogramOptions> =
        LazyLock::new(|| HistogramOptions::linear(1.0, 0.1, 1e-15).unwrap());
    let mut h = Histogram::new(&OPTIONS);
    h.add_sample(0.1, 0.1);
    h.add_sample(0.2, 0.2);
    assert_eq!(h.percentile(-0.1), 0.2);
    assert_eq!(h.percentile(1.1), 0.30000000000000004);
}

#[test]
fn empty_histogram_answers_zero() {
    let h = linear();
    assert!(h.is_empty());
    assert_eq!(h.percentile(0.5), 0.0);
    assert_eq!(h.heap_bytes(), 0);
}

#[test]
fn subtracting_a_sample_removes_its_bucket() {
    let mut h = linear();
    h.add_sample(1.0, 1.0);
    h.add_sample(5.0, 2.0);
    h.subtract_sample(5.0, 2.0);
    assert_eq!(h.total_weight(), 1.0);
    assert_eq!(h.bucket_weight(5), 0.0);
    assert_eq!(h.max_bucket(), 1);
    assert_eq!(h.percentile(1.0), 2.0);
    h.subtract_sample(1.0, 1.0);
    assert!(h.is_empty());
    // Subtracting from an empty bucket leaves it empty instead of negative.
    h.subtract_sample(7.0, 3.0);
    assert_eq!(h.bucket_weight(7), 0.0);
    assert_eq!(h.total_weight(), 0.0);
}

#[test]
fn merge_adds_weights_and_widens_the_range() {
    let mut a = linear();
    a.add_sample(1.0, 1.0);
    let mut b = linear();
    b.add_sample(8.0, 3.0);
    a.merge(&b);
    assert_eq!(a.total_weight(), 4.0);
    assert_eq!((a.min_bucket(), a.max_bucket()), (1, 8));
    assert_eq!(a.percentile(0.25), 2.0);
    assert_eq!(a.percentile(0.26), 9.0);
    a.merge(&linear());
    assert_eq!(a.total_weight(), 4.0);
}

#[test]
fn storage_grows_only_around_used_buckets() {
    let mut h = Histogram::new(HistogramOptions::cpu());
    h.add_sample(0.5, 0.1);
    let first = h.heap_bytes();
    assert!(first <= 5 * 8, "{first}");
    for _ in 0..1000 {
        h.add_sample(0.5, 0.1);
    }
    assert_eq!(
        h.heap_bytes(),
        first,
        "no allocation for samples inside the window"
    );
    h.add_sample(0.01, 0.1);
    h.add_sample(900.0, 0.1);
    assert!(h.heap_bytes() <= 176 * 8);
    let lowest = h.options().find_bucket(0.01);
    assert_eq!(h.percentile(0.0), h.options().bucket_start(lowest + 1));
}

#[test]
fn saving_a_single_sample_gives_max_weight() {
    let mut h = linear();
    h.add_sample(1.0, 1.0);
    let (buckets, total) = h.save();
    assert_eq!(buckets, BTreeMap::from([(1, 10_000)]));
    assert_eq!(total, 1.0);
}

#[test]
fn saving_keeps_relative_weights() {
    let mut h = linear();
    h.add_sample(1.0, 1.0);
    h.add_sample(2.0, 10_000.0);
    h.add_sample(3.0, 50.0);
    let (buckets, total) = h.save();
    assert_eq!(buckets, BTreeMap::from([(1, 1), (2, 10_000), (3, 50)]));
    assert_eq!(total, 10_051.0);
}

#[test]
fn saving_drops_relatively_small_buckets() {
    let mut h = linear();
    h.add_sample(1.0, 1.0);
    h.add_sample(2.0, 100_000.0);
    let (buckets, total) = h.save();
    assert_eq!(buckets, BTreeMap::from([(2, 10_000)]));
    assert_eq!(total, 100_001.0);
}

#[test]
fn loading_rescales_to_the_total_weight() {
    let mut h = linear();
    h.load(&BTreeMap::from([(0, 1), (1, 2)]), 6.0).unwrap();
    assert_eq!(h.total_weight(), 6.0);
    assert_eq!(h.bucket_weight(0), 2.0);
    assert_eq!(h.bucket_weight(1), 4.0);
}

#[test]
fn loading_rejects_out_of_range_buckets_and_negative_totals() {
    let mut h = linear();
    assert_eq!(
        h.load(&BTreeMap::from([(99, 1)]), 1.0),
        Err(HistogramLoadError::BucketOutOfRange {
            bucket: 99,
            num_buckets: 11
        })
    );
    assert_eq!(
        h.load(&BTreeMap::from([(1, 1)]), -1.0),
        Err(HistogramLoadError::NegativeTotalWeight(-1.0))
    );
    assert!(h.is_empty());
    assert_eq!(h.total_weight(), 0.0);
}

#[test]
fn loading_drops_sub_epsilon_edge_buckets() {
    let mut h = Histogram::new(HistogramOptions::cpu());
    h.load(&BTreeMap::from([(3, 1), (40, 10_000)]), 1.0)
        .unwrap();
    assert_eq!((h.min_bucket(), h.max_bucket()), (40, 40));
    assert!(!h.is_empty());
}

fn samples() -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((0.0..2000.0f64, 0.0..10.0f64), 1..60)
}

proptest! {
    #[test]
    fn percentile_is_monotone_in_p(samples in samples(), mut ps in prop::collection::vec(0.0..=1.0f64, 2..20)) {
        let mut h = Histogram::new(HistogramOptions::cpu());
        for (v, w) in samples {
            h.add_sample(v, w);
        }
        ps.sort_by(f64::total_cmp);
        let values: Vec<f64> = ps.iter().map(|&p| h.percentile(p)).collect();
        prop_assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    }

    #[test]
    fn save_load_save_is_stable(samples in samples()) {
        let mut h = Histogram::new(HistogramOptions::cpu());
        for (v, w) in samples {
            h.add_sample(v, w);
        }
        let (buckets, total) = h.save();
        let mut loaded = Histogram::new(HistogramOptions::cpu());
        loaded.load(&buckets, total).unwrap();
        prop_assert_eq!(loaded.save(), (buckets, total));
    }

    #[test]
    fn merge_equals_adding_all_samples_to_one(a in samples(), b in samples()) {
        let (mut left, mut right, mut all) = (cpu(), cpu(), cpu());
        for &(v, w) in &a {
            left.add_sample(v, w);
            all.add_sample(v, w);
        }
        for &(v, w) in &b {
            right.add_sample(v, w);
            all.add_sample(v, w);
        }
        left.merge(&right);
        assert_same_distribution(&left, &all);
    }
}

fn cpu() -> Histogram {
    Histogram::new(HistogramOptions::cpu())
}

/// Equal bucket weights (up to float summation order) and equal percentiles.
pub(crate) fn assert_same_distribution(a: &Histogram, b: &Histogram) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    assert!(close(a.total_weight(), b.total_weight()));
    assert_eq!(a.is_empty(), b.is_empty());
    for bucket in 0..a.options().num_buckets() {
        assert!(
            close(a.bucket_weight(bucket), b.bucket_weight(bucket)),
            "bucket {bucket}"
        );
    }
    if !a.is_empty() {
        assert_eq!(
            (a.min_bucket(), a.max_bucket()),
            (b.min_bucket(), b.max_bucket())
        );
    }
    for i in 0..=20 {
        let p = f64::from(i) / 20.0;
        assert_eq!(a.percentile(p), b.percentile(p), "P{p}");
    }
}
