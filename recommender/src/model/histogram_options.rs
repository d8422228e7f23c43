//! Bucket layouts of the usage histograms (pure).
//!
//! A linear layout has fixed-size buckets. An exponential layout has buckets that grow by `ratio`:
//! bucket 0 covers `[0, first)`, bucket `n ≥ 1` starts at `first × (ratioⁿ − 1) / (ratio − 1)`,
//! and there are just enough buckets for the last one to start at or above `max_value`. The
//! recommender uses two exponential layouts, [`HistogramOptions::cpu`] (cores) and
//! [`HistogramOptions::memory`] (bytes), each with 176 buckets. Bucket starts are computed once,
//! with Go's `math.Pow` arithmetic, so percentiles equal upstream's to the last bit.

use std::sync::LazyLock;

use super::types::{CPU_SAMPLE_WEIGHT, go_pow};

/// Weight below which a bucket counts as empty, for both default layouts: 0.001 × the CPU
/// sample weight, computed as upstream does.
pub const DEFAULT_EPSILON: f64 = 0.001 * CPU_SAMPLE_WEIGHT;

static CPU: LazyLock<HistogramOptions> = LazyLock::new(|| {
    HistogramOptions::exponential(1000.0, 0.01, 1.05, DEFAULT_EPSILON).expect("valid CPU layout")
});
static MEMORY: LazyLock<HistogramOptions> = LazyLock::new(|| {
    HistogramOptions::exponential(1e12, 1e7, 1.05, DEFAULT_EPSILON).expect("valid memory layout")
});

/// A histogram's bucket layout and empty-bucket threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramOptions {
    scheme: Scheme,
    epsilon: f64,
    /// Start of every bucket, precomputed.
    starts: Box<[f64]>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scheme {
    Linear {
        bucket_size: f64,
    },
    Exponential {
        first_bucket_size: f64,
        ratio: f64,
        ln_ratio: f64,
    },
}

/// Parameters that do not describe a histogram.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HistogramOptionsError {
    /// A size, maximum or epsilon was not positive, or the ratio was not above 1.
    #[error("histogram sizes and epsilon must be > 0 and the ratio > 1")]
    NotPositive,
    /// The layout would need more buckets than a histogram can index.
    #[error("histogram layout needs {0} buckets, more than supported")]
    TooManyBuckets(f64),
}

impl HistogramOptions {
    /// The CPU layout: first bucket 0.01 cores, ratio 1.05, up to 1000 cores (176 buckets).
    pub fn cpu() -> &'static Self {
        &CPU
    }

    /// The memory layout: first bucket 1e7 bytes, ratio 1.05, up to 1e12 bytes (176 buckets).
    pub fn memory() -> &'static Self {
        &MEMORY
    }

    /// Fixed-size buckets starting at 0; the last bucket starts at or above `max_value`.
    pub fn linear(
        max_value: f64,
        bucket_size: f64,
        epsilon: f64,
    ) -> Result<Self, HistogramOptionsError> {
        if !(max_value > 0.0 && bucket_size > 0.0 && epsilon > 0.0) {
            return Err(HistogramOptionsError::NotPositive);
        }
        let count = (max_value / bucket_size).ceil() + 1.0;
        let scheme = Scheme::Linear { bucket_size };
        Self::build(scheme, count, epsilon, |n| n as f64 * bucket_size)
    }

    /// Exponentially growing buckets, see the module documentation.
    pub fn exponential(
        max_value: f64,
        first_bucket_size: f64,
        ratio: f64,
        epsilon: f64,
    ) -> Result<Self, HistogramOptionsError> {
        if !(max_value > 0.0 && first_bucket_size > 0.0 && ratio > 1.0 && epsilon > 0.0) {
            return Err(HistogramOptionsError::NotPositive);
        }
        let ln_ratio = ratio.ln();
        let count =
            ((max_value * (ratio - 1.0) / first_bucket_size + 1.0).ln() / ln_ratio).ceil() + 1.0;
        let scheme = Scheme::Exponential {
            first_bucket_size,
            ratio,
            ln_ratio,
        };
        Self::build(scheme, count, epsilon, |n| {
            if n == 0 {
                0.0
            } else {
                first_bucket_size * (go_pow(ratio, n as f64) - 1.0) / (ratio - 1.0)
            }
        })
    }

    fn build(
        scheme: Scheme,
        count: f64,
        epsilon: f64,
        start: impl Fn(usize) -> f64,
    ) -> Result<Self, HistogramOptionsError> {
        if count.is_nan() || count > f64::from(u16::MAX) {
            return Err(HistogramOptionsError::TooManyBuckets(count));
        }
        let starts = (0..count as usize).map(start).collect();
        Ok(Self {
            scheme,
            epsilon,
            starts,
        })
    }

    /// Number of buckets.
    pub fn num_buckets(&self) -> usize {
        self.starts.len()
    }

    /// The bucket `value` falls in; values outside the range go to the first or last bucket.
    pub fn find_bucket(&self, value: f64) -> usize {
        let last = self.starts.len() - 1;
        let bucket = match self.scheme {
            Scheme::Linear { bucket_size } => value / bucket_size,
            Scheme::Exponential {
                first_bucket_size,
                ratio,
                ln_ratio,
            } => {
                if value < first_bucket_size {
                    return 0;
                }
                (value * (ratio - 1.0) / first_bucket_size + 1.0).ln() / ln_ratio
            }
        };
        // Float-to-int casts truncate towards zero and saturate, so negatives land in bucket 0.
        (bucket as i64).clamp(0, last as i64) as usize
    }

    /// Start (inclusive lower edge) of `bucket`. Panics when `bucket` is out of range.
    pub fn bucket_start(&self, bucket: usize) -> f64 {
        self.starts[bucket]
    }

    /// Minimum weight for a bucket to count as non-empty.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Leaks custom options to get the `'static` reference histograms hold; meant for options
    /// built once at start-up or in tests.
    pub fn leak(self) -> &'static Self {
        Box::leak(Box::new(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_layout_matches_upstream() {
        let o = HistogramOptions::linear(5.0, 0.3, 1e-15).unwrap();
        assert_eq!(o.num_buckets(), 18);
        assert!((o.bucket_start(17) - 5.1).abs() < 1e-9);
        assert_eq!(o.find_bucket(-1.0), 0);
        assert_eq!(o.find_bucket(1.3), 4);
        assert_eq!(o.find_bucket(100.0), 17);
    }

    #[test]
    fn exponential_layout_matches_upstream() {
        let o = HistogramOptions::exponential(500.0, 40.0, 1.5, 1e-15).unwrap();
        assert_eq!(o.num_buckets(), 6);
        let starts: Vec<f64> = (0..6).map(|b| o.bucket_start(b)).collect();
        for (got, want) in starts.iter().zip([0.0, 40.0, 100.0, 190.0, 325.0, 527.5]) {
            assert!((got - want).abs() < 1e-9, "{got} != {want}");
        }
        assert_eq!(o.find_bucket(39.99), 0);
        assert_eq!(o.find_bucket(40.0), 1);
        assert_eq!(o.find_bucket(100.0), 2);
        assert_eq!(o.find_bucket(900.0), 5);
    }

    #[test]
    fn default_layouts_have_176_buckets() {
        let cpu = HistogramOptions::cpu();
        assert_eq!(cpu.num_buckets(), 176);
        assert_eq!(cpu.bucket_start(1), 0.01);
        assert!((cpu.bucket_start(2) - 0.0205).abs() < 1e-12);
        assert!((cpu.bucket_start(175) - 1021.1).abs() < 0.1);
        assert_eq!(cpu.epsilon(), 0.001 * 0.1);
        let memory = HistogramOptions::memory();
        assert_eq!(memory.num_buckets(), 176);
        assert!((memory.bucket_start(175) / 1.0211e12 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn spec_examples_land_in_the_documented_buckets() {
        let cpu = HistogramOptions::cpu();
        assert_eq!(cpu.find_bucket(0.1), 8);
        assert!((cpu.bucket_start(9) - 0.11027).abs() < 1e-5);
        assert_eq!(cpu.find_bucket(1.0), 36);
        assert!((cpu.bucket_start(37) - 1.01628).abs() < 1e-5);
        let memory = HistogramOptions::memory();
        assert_eq!(memory.find_bucket(1e9), 36);
        assert!((memory.bucket_start(37) / 1.01628e9 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(HistogramOptions::linear(0.0, 1.0, 1.0).is_err());
        assert!(HistogramOptions::exponential(10.0, 1.0, 1.0, 1.0).is_err());
        assert!(HistogramOptions::linear(1e9, 1.0, 1.0).is_err());
    }
}
