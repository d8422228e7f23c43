//! The loop's step timings (edge: reads the clock): each step's duration goes to the metrics
//! and to the loop's log line.

use tokio::time::Instant;

use crate::service::metrics::Metrics;

/// Times consecutive loop steps, for the metrics and the loop's log line.
pub(super) struct Laps {
    last: Instant,
    steps: Vec<(&'static str, std::time::Duration)>,
}

impl Laps {
    pub(super) fn new(started: Instant) -> Self {
        Self {
            last: started,
            steps: Vec::with_capacity(6),
        }
    }

    pub(super) fn lap(&mut self, metrics: &Metrics, step: &'static str) {
        let now = Instant::now();
        let took = now.duration_since(self.last);
        metrics.observe_step(step, took.as_secs_f64());
        self.steps.push((step, took));
        self.last = now;
    }
}

/// `LoadVPAs=12ms LoadPods=0ms ...`: the steps in order, in whole milliseconds.
impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, took)) in self.steps.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{step}={}ms", took.as_millis())?;
        }
        Ok(())
    }
}
