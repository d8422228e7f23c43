//! Quantities in milli-units for the priority comparisons (pure).
//!
//! The plan reads every pod's requests and every target and bound once per loop, which makes
//! quantity parsing the hottest code of a large loop. The forms the API server, the admission
//! controller and the recommender write (`100m`, `2`, `512Mi`, `1Gi`) are plain digits with a
//! common suffix, read here directly without allocating; anything else (fractions, exponents,
//! signs, other suffixes, overflow) goes through the full parser.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use vpa_common::quantity::Quantity;

/// Amount of `q` in milli-units (millicores for CPU, millibytes for memory), rounded up.
pub(crate) fn milli(q: &K8sQuantity) -> Option<i64> {
    plain_milli(&q.0).or_else(|| Quantity::try_from(q).ok().map(|q| q.millis_ceil()))
}

/// `digits[suffix]` in milli-units, `None` when `s` has another form or overflows.
fn plain_milli(s: &str) -> Option<i64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    // 18 digits always fit an i64; longer numbers take the full parser.
    if end == 0 || end > 18 {
        return None;
    }
    let (digits, suffix) = s.split_at(end);
    let factor: i64 = match suffix {
        "m" => 1,
        "" => 1_000,
        "k" => 1_000_000,
        "M" => 1_000_000_000,
        "G" => 1_000_000_000_000,
        "Ki" => 1_024_000,
        "Mi" => 1_048_576_000,
        "Gi" => 1_073_741_824_000,
        _ => return None,
    };
    digits.parse::<i64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full(s: &str) -> Option<i64> {
        s.parse::<Quantity>().ok().map(|q| q.millis_ceil())
    }

    #[test]
    fn common_forms_are_read_directly() {
        for (s, m) in [
            ("100m", 100),
            ("2", 2_000),
            ("0", 0),
            ("50Mi", 52_428_800_000),
            ("1Gi", 1_073_741_824_000),
            ("3k", 3_000_000),
        ] {
            assert_eq!(plain_milli(s), Some(m), "{s}");
            assert_eq!(full(s), Some(m), "{s}");
        }
    }

    #[test]
    fn other_forms_take_the_full_parser() {
        for s in ["1.5", "-1", "+1", "1e3", "1Ti", "", "m", "100n", "1Mx"] {
            assert_eq!(plain_milli(s), None, "{s}");
            assert_eq!(milli(&K8sQuantity(s.into())), full(s), "{s}");
        }
        // Overflow saturates in the full parser.
        let huge = "999999999999999999Gi";
        assert_eq!(plain_milli(huge), None);
        assert_eq!(milli(&K8sQuantity(huge.into())), full(huge));
    }

    proptest! {
        /// The direct reading agrees with the full parser wherever it answers.
        #[test]
        fn agrees_with_the_full_parser(
            n in 0u64..1_000_000_000_000_000_000,
            suffix in prop::sample::select(vec!["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti", "u", "n", "e3", "E"]),
        ) {
            let s = format!("{n}{suffix}");
            prop_assert_eq!(milli(&K8sQuantity(s.clone())), full(&s), "{}", s);
        }
    }
}
