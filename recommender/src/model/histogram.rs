//! A weighted histogram over a fixed bucket layout (pure), upstream's `util.histogram`.
//!
//! Each bucket holds the total weight of the samples that fell in it. `min_bucket`/`max_bucket`
//! bound the buckets with at least `epsilon` weight; percentiles walk that range and answer with
//! the *upper* edge of the bucket where the cumulative weight first reaches `p × total` (the last
//! bucket, which has no upper edge, answers with its start).
//!
//! Storage is sparse: only the contiguous window of buckets that ever held weight is allocated
//! (a few dozen of the 176 for a real container), grown with a little slack when a sample lands
//! outside it, so adding a sample allocates only when the window grows. Every float operation is
//! upstream's, in upstream's order, so results are bit-identical to the Go code's.

use std::collections::BTreeMap;

use super::histogram_options::HistogramOptions;

/// The heaviest bucket's weight in a saved histogram; the others are scaled relative to it.
pub const MAX_CHECKPOINT_WEIGHT: u32 = 10_000;

/// Buckets of spare room added on the side the storage window grows towards.
const GROWTH_SLACK: usize = 2;

/// A saved histogram that cannot be loaded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HistogramLoadError {
    /// The total weight was negative.
    #[error("cannot load a histogram with negative total weight {0}")]
    NegativeTotalWeight(f64),
    /// A bucket index is outside the layout.
    #[error("saved bucket {bucket} is outside the histogram's {num_buckets} buckets")]
    BucketOutOfRange {
        /// The offending index.
        bucket: u32,
        /// Number of buckets of the layout.
        num_buckets: usize,
    },
}

/// A histogram of weighted samples.
#[derive(Clone, Debug)]
pub struct Histogram {
    options: &'static HistogramOptions,
    /// Weights of buckets `offset..offset + weights.len()`; every other bucket weighs 0.
    weights: Box<[f64]>,
    total_weight: f64,
    offset: u16,
    min_bucket: u16,
    max_bucket: u16,
}

impl Histogram {
    /// An empty histogram over `options`.
    pub fn new(options: &'static HistogramOptions) -> Self {
        Self {
            options,
            weights: Box::default(),
            total_weight: 0.0,
            offset: 0,
            min_bucket: (options.num_buckets() - 1) as u16,
            max_bucket: 0,
        }
    }

    /// The bucket layout.
    pub fn options(&self) -> &'static HistogramOptions {
        self.options
    }

    /// Sum of all sample weights.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Weight held by `bucket`.
    pub fn bucket_weight(&self, bucket: usize) -> f64 {
        bucket
            .checked_sub(usize::from(self.offset))
            .and_then(|i| self.weights.get(i))
            .copied()
            .unwrap_or(0.0)
    }

    /// First bucket with at least epsilon weight, or the last bucket when empty.
    pub fn min_bucket(&self) -> usize {
        usize::from(self.min_bucket)
    }

    /// Last bucket with at least epsilon weight, or 0 when empty.
    pub fn max_bucket(&self) -> usize {
        usize::from(self.max_bucket)
    }

    /// Adds a sample. Panics if `weight` is negative.
    pub fn add_sample(&mut self, value: f64, weight: f64) {
        assert!(weight >= 0.0, "sample weight must be non-negative");
        let bucket = self.options.find_bucket(value);
        self.total_weight += weight;
        if weight == 0.0 {
            // Nothing changes: a bucket that already weighs epsilon is inside [min, max].
            return;
        }
        let slot = self.slot(bucket);
        *slot += weight;
        let bucket_weight = *slot;
        if bucket_weight >= self.options.epsilon() {
            self.min_bucket = self.min_bucket.min(bucket as u16);
            self.max_bucket = self.max_bucket.max(bucket as u16);
        }
    }

    /// Removes weight from the bucket of `value`; a bucket or total left below epsilon becomes 0.
    /// Panics if `weight` is negative.
    pub fn subtract_sample(&mut self, value: f64, weight: f64) {
        assert!(weight >= 0.0, "sample weight must be non-negative");
        let bucket = self.options.find_bucket(value);
        let epsilon = self.options.epsilon();
        self.total_weight = safe_subtract(self.total_weight, weight, epsilon);
        if let Some(i) = self.index(bucket) {
            self.weights[i] = safe_subtract(self.weights[i], weight, epsilon);
        }
        self.update_min_and_max_bucket();
    }

    /// Adds every sample of `other`. Panics if the layouts differ.
    pub fn merge(&mut self, other: &Histogram) {
        self.merge_buckets(other, other.min_bucket(), other.max_bucket(), 1.0);
    }

    /// Adds `other` as if its weights were first multiplied by `factor` (upstream scales the other
    /// histogram in place, which also trims its sub-epsilon edge buckets; this leaves it alone).
    pub(crate) fn merge_scaled(&mut self, other: &Histogram, factor: f64) {
        let epsilon = other.options.epsilon();
        let last = other.options.num_buckets() - 1;
        let (mut min, mut max) = (other.min_bucket(), other.max_bucket());
        let scaled = |bucket: usize| {
            if (other.min_bucket()..=other.max_bucket()).contains(&bucket) {
                other.bucket_weight(bucket) * factor
            } else {
                other.bucket_weight(bucket)
            }
        };
        while scaled(min) < epsilon && min < last {
            min += 1;
        }
        while scaled(max) < epsilon && max > 0 {
            max -= 1;
        }
        self.merge_buckets(other, min, max, factor);
    }

    fn merge_buckets(&mut self, other: &Histogram, min: usize, max: usize, factor: f64) {
        assert!(
            std::ptr::eq(self.options, other.options) || self.options == other.options,
            "can't merge histograms with different options"
        );
        for bucket in min..=max {
            let weight = other.bucket_weight(bucket);
            if weight != 0.0 {
                *self.slot(bucket) += if factor == 1.0 {
                    weight
                } else {
                    weight * factor
                };
            }
        }
        self.total_weight += if factor == 1.0 {
            other.total_weight
        } else {
            other.total_weight * factor
        };
        self.min_bucket = self.min_bucket.min(min as u16);
        self.max_bucket = self.max_bucket.max(max as u16);
    }

    /// The approximate `percentile` (0..=1) of the distribution: the upper edge of the bucket
    /// where the cumulative weight reaches `percentile × total`. An empty histogram answers 0.
    pub fn percentile(&self, percentile: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let threshold = percentile * self.total_weight;
        // A non-empty histogram's min and max buckets hold weight, so both are stored.
        let (min, max) = (self.min_bucket(), self.max_bucket());
        let offset = usize::from(self.offset);
        let mut bucket = min;
        let mut partial_sum = 0.0;
        for &weight in &self.weights[min - offset..max - offset] {
            partial_sum += weight;
            if partial_sum >= threshold {
                break;
            }
            bucket += 1;
        }
        if bucket < self.options.num_buckets() - 1 {
            self.options.bucket_start(bucket + 1)
        } else {
            self.options.bucket_start(bucket)
        }
    }

    /// Whether no bucket holds at least epsilon weight.
    pub fn is_empty(&self) -> bool {
        self.bucket_weight(self.min_bucket()) < self.options.epsilon()
    }

    /// Multiplies the weights in `[min, max]` and the total by `factor` (≥ 0), then drops edge
    /// buckets that fell below epsilon. Percentiles are unchanged.
    pub(crate) fn scale(&mut self, factor: f64) {
        assert!(factor >= 0.0, "scale factor must be non-negative");
        for bucket in self.min_bucket()..=self.max_bucket() {
            if let Some(i) = self.index(bucket) {
                self.weights[i] *= factor;
            }
        }
        self.total_weight *= factor;
        self.update_min_and_max_bucket();
    }

    /// The histogram as checkpoint data: bucket weights scaled so the heaviest is
    /// [`MAX_CHECKPOINT_WEIGHT`], rounded half-up, zeros dropped; plus the unscaled total weight.
    pub fn save(&self) -> (BTreeMap<u32, u32>, f64) {
        let range = self.min_bucket()..=self.max_bucket();
        let max = range
            .clone()
            .map(|b| self.bucket_weight(b))
            .fold(0.0, f64::max);
        let mut buckets = BTreeMap::new();
        if max > 0.0 {
            let ratio = f64::from(MAX_CHECKPOINT_WEIGHT) / max;
            for bucket in range {
                let weight = (self.bucket_weight(bucket) * ratio + 0.5).floor() as u32;
                if weight > 0 {
                    buckets.insert(bucket as u32, weight);
                }
            }
        }
        (buckets, self.total_weight)
    }

    /// Adds saved checkpoint data: each stored weight becomes `weight × total / Σ stored`.
    /// Rejects a negative total or a bucket outside the layout without changing anything.
    pub fn load(
        &mut self,
        bucket_weights: &BTreeMap<u32, u32>,
        total_weight: f64,
    ) -> Result<(), HistogramLoadError> {
        if total_weight < 0.0 {
            return Err(HistogramLoadError::NegativeTotalWeight(total_weight));
        }
        let num_buckets = self.options.num_buckets();
        let mut sum: u64 = 0;
        for (&bucket, &weight) in bucket_weights {
            if bucket as usize >= num_buckets {
                return Err(HistogramLoadError::BucketOutOfRange {
                    bucket,
                    num_buckets,
                });
            }
            sum += u64::from(weight);
        }
        if sum == 0 {
            return Ok(());
        }
        let ratio = total_weight / sum as f64;
        for (&bucket, &weight) in bucket_weights {
            let bucket = bucket as usize;
            self.min_bucket = self.min_bucket.min(bucket as u16);
            self.max_bucket = self.max_bucket.max(bucket as u16);
            *self.slot(bucket) += f64::from(weight) * ratio;
        }
        self.total_weight += total_weight;
        self.update_min_and_max_bucket();
        Ok(())
    }

    /// Bytes this histogram owns on the heap.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.weights)
    }

    fn update_min_and_max_bucket(&mut self) {
        let epsilon = self.options.epsilon();
        let last = self.options.num_buckets() - 1;
        while self.bucket_weight(self.min_bucket()) < epsilon && self.min_bucket() < last {
            self.min_bucket += 1;
        }
        while self.bucket_weight(self.max_bucket()) < epsilon && self.max_bucket > 0 {
            self.max_bucket -= 1;
        }
    }

    fn index(&self, bucket: usize) -> Option<usize> {
        let i = bucket.checked_sub(usize::from(self.offset))?;
        (i < self.weights.len()).then_some(i)
    }

    /// The weight slot of `bucket`, growing the storage window to include it.
    fn slot(&mut self, bucket: usize) -> &mut f64 {
        let i = match self.index(bucket) {
            Some(i) => i,
            None => {
                self.grow_to(bucket);
                bucket - usize::from(self.offset)
            }
        };
        &mut self.weights[i]
    }

    fn grow_to(&mut self, bucket: usize) {
        let num_buckets = self.options.num_buckets();
        let (old_lo, old_len) = (usize::from(self.offset), self.weights.len());
        let (lo, hi) = if old_len == 0 {
            (
                bucket.saturating_sub(GROWTH_SLACK),
                (bucket + 1 + GROWTH_SLACK).min(num_buckets),
            )
        } else if bucket < old_lo {
            (bucket.saturating_sub(GROWTH_SLACK), old_lo + old_len)
        } else {
            (old_lo, (bucket + 1 + GROWTH_SLACK).min(num_buckets))
        };
        let mut weights = vec![0.0; hi - lo].into_boxed_slice();
        weights[old_lo.saturating_sub(lo)..][..old_len].copy_from_slice(&self.weights);
        self.weights = weights;
        self.offset = lo as u16;
    }
}

fn safe_subtract(value: f64, subtrahend: f64, epsilon: f64) -> f64 {
    let result = value - subtrahend;
    if result < epsilon { 0.0 } else { result }
}

#[cfg(test)]
pub(crate) mod tests;
