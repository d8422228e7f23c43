//! A histogram that forgets old samples exponentially (pure), upstream's `decayingHistogram`.
//!
//! A sample taken at time `t` is stored with weight `w × 2^((t − reference) / half_life)`: every
//! half-life, new samples count twice as much as samples one half-life older, so the relative
//! weight of a sample halves each half-life. Only relative weights matter to percentiles, so the
//! reference can move at any time by rescaling all weights. The reference is always a multiple
//! of the half-life (counted from Go's zero time, as upstream rounds it), and it jumps forward to
//! the newest sample once that sample is more than 100 half-lives past it, which keeps the
//! exponent, and the weights, finite.

use std::collections::BTreeMap;

use super::histogram::{Histogram, HistogramLoadError};
use super::histogram_options::HistogramOptions;
use super::types::{GO_ZERO_TIME, Seconds, Timestamp};

/// Number of half-lives a sample may be ahead of the reference before the reference moves.
pub const MAX_DECAY_EXPONENT: i64 = 100;

/// A decaying histogram; see the module documentation.
#[derive(Clone, Debug)]
pub struct DecayingHistogram {
    histogram: Histogram,
    half_life: Seconds,
    reference: Timestamp,
}

impl DecayingHistogram {
    /// An empty histogram. Panics if `half_life` is not positive.
    pub fn new(options: &'static HistogramOptions, half_life: Seconds) -> Self {
        assert!(half_life > 0, "half-life must be positive");
        Self {
            histogram: Histogram::new(options),
            half_life,
            reference: GO_ZERO_TIME,
        }
    }

    /// The underlying histogram, with decayed weights.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }

    /// The decay half-life.
    pub fn half_life(&self) -> Seconds {
        self.half_life
    }

    /// The instant at which a sample's weight is not scaled; [`GO_ZERO_TIME`] until the first
    /// sample.
    pub fn reference_timestamp(&self) -> Timestamp {
        self.reference
    }

    /// Adds a sample of `weight` taken at `time`.
    pub fn add_sample(&mut self, value: f64, weight: f64, time: Timestamp) {
        let factor = self.decay_factor(time);
        self.histogram.add_sample(value, weight * factor);
    }

    /// Removes a sample previously added with the same value, weight and time.
    pub fn subtract_sample(&mut self, value: f64, weight: f64, time: Timestamp) {
        let factor = self.decay_factor(time);
        self.histogram.subtract_sample(value, weight * factor);
    }

    /// Adds every sample of `other`, aligning the older reference to the newer one.
    /// Panics if the half-lives or bucket layouts differ.
    pub fn merge(&mut self, other: &DecayingHistogram) {
        assert_eq!(
            self.half_life, other.half_life,
            "can't merge decaying histograms with different half-lives"
        );
        if self.reference < other.reference {
            self.shift_reference(other.reference);
            self.histogram.merge(&other.histogram);
        } else if other.reference < self.reference {
            let target = round_to_multiple(self.reference, self.half_life);
            let factor = ldexp_one(self.exponent(other.reference, target));
            self.histogram.merge_scaled(&other.histogram, factor);
        } else {
            self.histogram.merge(&other.histogram);
        }
    }

    /// See [`Histogram::percentile`].
    pub fn percentile(&self, percentile: f64) -> f64 {
        self.histogram.percentile(percentile)
    }

    /// See [`Histogram::is_empty`].
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// Checkpoint data: see [`Histogram::save`], plus the reference timestamp.
    pub fn save(&self) -> (BTreeMap<u32, u32>, f64, Timestamp) {
        let (buckets, total) = self.histogram.save();
        (buckets, total, self.reference)
    }

    /// Adds checkpoint data (see [`Histogram::load`]) and adopts its reference timestamp.
    pub fn load(
        &mut self,
        bucket_weights: &BTreeMap<u32, u32>,
        total_weight: f64,
        reference: Timestamp,
    ) -> Result<(), HistogramLoadError> {
        self.histogram.load(bucket_weights, total_weight)?;
        self.reference = reference;
        Ok(())
    }

    /// Bytes this histogram owns on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.histogram.heap_bytes()
    }

    fn decay_factor(&mut self, time: Timestamp) -> f64 {
        let max_allowed = self
            .reference
            .saturating_add(self.half_life.saturating_mul(MAX_DECAY_EXPONENT));
        if time > max_allowed {
            self.shift_reference(time);
        }
        ((time - self.reference) as f64 / self.half_life as f64).exp2()
    }

    fn shift_reference(&mut self, new_reference: Timestamp) {
        let new_reference = round_to_multiple(new_reference, self.half_life);
        let exponent = self.exponent(self.reference, new_reference);
        self.histogram.scale(ldexp_one(exponent));
        self.reference = new_reference;
    }

    /// Whole half-lives from `to` back to `from`, rounded half-up, as upstream.
    fn exponent(&self, from: Timestamp, to: Timestamp) -> i32 {
        let halves = (from - to) as f64 / self.half_life as f64;
        (halves + 0.5).floor().clamp(-4096.0, 4096.0) as i32
    }
}

/// `2^exponent`.
fn ldexp_one(exponent: i32) -> f64 {
    2f64.powi(exponent)
}

/// `time` rounded to the nearest multiple of `step` counted from Go's zero time, halves rounding
/// up, as Go's `time.Time.Round`.
pub fn round_to_multiple(time: Timestamp, step: Seconds) -> Timestamp {
    let remainder = (time - GO_ZERO_TIME).rem_euclid(step);
    if remainder + remainder < step {
        time - remainder
    } else {
        time + (step - remainder)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;
    use crate::model::types::{DAY, HOUR};

    static LINEAR: LazyLock<HistogramOptions> =
        LazyLock::new(|| HistogramOptions::linear(10.0, 1.0, 1e-15).unwrap());
    /// 2026-11-20T00:00:00Z.
    const T0: Timestamp = 1_795_132_800;

    fn hourly() -> DecayingHistogram {
        DecayingHistogram::new(&LINEAR, HOUR)
    }

    #[test]
    fn a_new_sample_outweighs_an_old_heavy_one() {
        let mut h = hourly();
        h.add_sample(2.0, 1000.0, T0);
        h.add_sample(1.0, 1.0, T0 + 20 * HOUR);
        // 1000 / 2^20 < 1, so the newer sample dominates.
        assert_eq!(h.percentile(0.999), 2.0);
        assert_eq!(h.percentile(1.0), 3.0);
    }

    #[test]
    fn percentiles_follow_decayed_weights() {
        let mut h = hourly();
        for i in 1..=4 {
            h.add_sample(f64::from(i), f64::from(i), T0 + i64::from(i) * HOUR);
        }
        // Relative to the first sample's hour the decayed weights are 1, 4, 12, 32 (total 49).
        for (p, want) in [
            (0.0, 2.0),
            (0.02, 2.0),
            (0.03, 3.0),
            (0.10, 3.0),
            (0.11, 4.0),
            (0.34, 4.0),
            (0.35, 5.0),
            (1.0, 5.0),
        ] {
            assert_eq!(h.percentile(p), want, "P{p}");
        }
    }

    #[test]
    fn reference_moves_forward_without_overflow() {
        let mut h = hourly();
        h.add_sample(1.0, 1.0, T0);
        let first_reference = h.reference_timestamp();
        assert_eq!(first_reference, T0);
        h.add_sample(2.0, 1.0, T0 + 101 * HOUR);
        assert!(h.reference_timestamp() > first_reference);
        assert!(h.histogram().total_weight().is_finite());
        assert!(h.histogram().total_weight() < 4.0);
        assert_eq!(
            h.percentile(0.0),
            3.0,
            "the old sample decayed below epsilon"
        );
    }

    #[test]
    fn reference_is_rounded_like_go() {
        assert_eq!(round_to_multiple(T0 + 11 * HOUR, DAY), T0);
        assert_eq!(round_to_multiple(T0 + 12 * HOUR, DAY), T0 + DAY);
        assert_eq!(round_to_multiple(T0 - 1, HOUR), T0);
        // Go counts from year 1, not from the Unix epoch: 7h multiples differ.
        assert_eq!(
            (round_to_multiple(0, 7 * HOUR) - GO_ZERO_TIME) % (7 * HOUR),
            0
        );
    }

    #[test]
    fn merge_aligns_the_older_reference() {
        let mut old = hourly();
        old.add_sample(1.0, 4.0, T0);
        let mut new = hourly();
        new.add_sample(5.0, 1.0, T0 + 200 * HOUR);
        let mut merged = old.clone();
        merged.merge(&new);
        let mut other_way = new.clone();
        other_way.merge(&old);
        assert_eq!(merged.reference_timestamp(), new.reference_timestamp());
        assert_eq!(other_way.reference_timestamp(), new.reference_timestamp());
        assert_eq!(merged.percentile(0.5), 6.0);
        assert_eq!(other_way.percentile(0.5), 6.0);
        assert_eq!(
            merged.histogram().total_weight(),
            other_way.histogram().total_weight()
        );
    }

    #[test]
    fn save_and_load_keep_the_reference() {
        let mut h = DecayingHistogram::new(HistogramOptions::cpu(), DAY);
        h.add_sample(0.5, 0.1, T0 + 3 * HOUR);
        let (buckets, total, reference) = h.save();
        assert_eq!(reference, T0);
        let mut loaded = DecayingHistogram::new(HistogramOptions::cpu(), DAY);
        loaded.load(&buckets, total, reference).unwrap();
        assert_eq!(loaded.save(), (buckets, total, reference));
        assert_eq!(loaded.percentile(0.9), h.percentile(0.9));
    }

    proptest! {
        #[test]
        fn a_sample_weight_halves_relative_to_one_a_half_life_newer(
            start in 0i64..(1 << 20), half_life in 1i64..(10 * DAY), weight in 0.01..100.0f64,
        ) {
            let mut h = DecayingHistogram::new(&LINEAR, half_life);
            let t = T0 + start;
            h.add_sample(1.0, weight, t);
            h.add_sample(5.0, weight, t + half_life);
            let ratio = h.histogram().bucket_weight(1) / h.histogram().bucket_weight(5);
            prop_assert!((ratio - 0.5).abs() < 1e-12, "{ratio}");
        }

        #[test]
        fn merge_equals_adding_all_samples_to_one(
            a in prop::collection::vec((0.0..900.0f64, 0i64..10, 0u32..4), 1..40),
            b in prop::collection::vec((0.0..900.0f64, 0i64..10, 0u32..4), 1..40),
        ) {
            // Whole half-lives and power-of-two weights keep every product exact, and ten days
            // keep every decayed weight above epsilon (upstream's merge drops sub-epsilon edge
            // buckets of the older side), so the merged histogram equals the single one.
            let sample = |&(v, k, w): &(f64, i64, u32)| (v, f64::from(1 << w) / 4.0, T0 + k * DAY);
            let mut sorted: Vec<_> = a.iter().chain(&b).map(sample).collect();
            sorted.sort_by_key(|s| s.2);
            let mut all = DecayingHistogram::new(HistogramOptions::cpu(), DAY);
            for (v, w, t) in sorted {
                all.add_sample(v, w, t);
            }
            let mut left = DecayingHistogram::new(HistogramOptions::cpu(), DAY);
            let mut right = left.clone();
            for (v, w, t) in a.iter().map(sample) { left.add_sample(v, w, t); }
            for (v, w, t) in b.iter().map(sample) { right.add_sample(v, w, t); }
            left.merge(&right);
            let scale = ldexp_one(((left.reference_timestamp() - all.reference_timestamp()) / DAY) as i32);
            let mut rescaled = all.histogram().clone();
            rescaled.scale(1.0 / scale);
            crate::model::histogram::tests::assert_same_distribution(left.histogram(), &rescaled);
        }
    }
}
