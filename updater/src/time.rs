//! Small time helpers over Kubernetes timestamps (pure): the updater's logic takes `now` as a
//! parameter and never reads the clock itself.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

/// Time elapsed from `earlier` to `later`, zero when `later` is not after `earlier`.
pub fn elapsed(earlier: Timestamp, later: Timestamp) -> Duration {
    let nanos = later.as_nanosecond() - earlier.as_nanosecond();
    if nanos <= 0 {
        Duration::ZERO
    } else {
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// `t + d`, saturating at the largest representable timestamp.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    let nanos = t
        .as_nanosecond()
        .saturating_add(i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    Timestamp::from_nanosecond(nanos).unwrap_or(Timestamp::MAX)
}

/// The current wall-clock time; only edge code calls this.
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanosecond(i128::try_from(since_epoch.as_nanos()).unwrap_or(0))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_never_negative() {
        let a = Timestamp::from_second(100).unwrap();
        let b = Timestamp::from_second(160).unwrap();
        assert_eq!(elapsed(a, b), Duration::from_secs(60));
        assert_eq!(elapsed(b, a), Duration::ZERO);
        assert_eq!(add(a, Duration::from_secs(60)), b);
    }
}
