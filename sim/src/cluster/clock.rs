//! Simulated time (pure apart from reading the wall clock once per call): a clock that runs
//! `factor` times faster than real time from the moment it is made, for `SimOptions::clock`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::store::Clock;

/// The simulated instant `elapsed` real seconds after `start`, at `factor`× speed.
pub fn scaled(start: DateTime<Utc>, elapsed_secs: f64, factor: f64) -> DateTime<Utc> {
    start + chrono::Duration::milliseconds((elapsed_secs * factor * 1000.0) as i64)
}

/// A clock starting now and running `factor` times faster than the wall clock (1.0 = real time).
pub fn accelerated(factor: f64) -> Clock {
    let start = Utc::now();
    let origin = Instant::now();
    Arc::new(move || scaled(start, origin.elapsed().as_secs_f64(), factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerated_time_advances_factor_times_faster() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            scaled(start, 2.0, 60.0),
            start + chrono::Duration::minutes(2)
        );
        assert_eq!(
            scaled(start, 2.0, 1.0),
            start + chrono::Duration::seconds(2)
        );
    }
}
