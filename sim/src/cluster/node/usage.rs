//! Container usage models for the simulated kubelet (pure): what a container "uses" at a given
//! moment, chosen per pod by annotations so a Deployment's template can carry them.
//!
//! Annotations (on the pod, usually via the pod template):
//! * `sim.vpa.rs/cpu` and `sim.vpa.rs/memory`: the model for every container;
//! * `sim.vpa.rs/cpu.<container>` and `sim.vpa.rs/memory.<container>`: for one container.
//!
//! A model is `kind:arg:arg...`, amounts being Kubernetes quantities (`0.5`, `500m`, `60Mi`) and
//! durations plain seconds:
//! * `constant:V`
//! * `ramp:FROM:TO:SECONDS` — linear from FROM to TO over SECONDS, then stays at TO;
//! * `sine:MEAN:AMPLITUDE:PERIOD` — MEAN + AMPLITUDE·sin(2πt/PERIOD), never below zero;
//! * `step:BEFORE:AFTER:AT` — BEFORE until AT seconds, AFTER from then on;
//! * `spikes:BASE:PEAK:EVERY:LENGTH` — BASE, with PEAK for LENGTH seconds every EVERY seconds;
//! * `growth:START:PER_SECOND` — START plus PER_SECOND for every second (a memory leak: the
//!   container is OOM-killed when it crosses its limit, and starts again from START).
//!
//! A usage scenario file ([`super::scenario`]) given to the cluster takes precedence over these
//! annotations.
//!
//! Time `t` is seconds since the container (re)started, on the simulation clock. Values are in
//! cores for CPU and bytes for memory.

use std::collections::BTreeMap;

use vpa_common::quantity::Quantity;

/// Annotation prefix for CPU models.
pub const CPU_ANNOTATION: &str = "sim.vpa.rs/cpu";
/// Annotation prefix for memory models.
pub const MEMORY_ANNOTATION: &str = "sim.vpa.rs/memory";

/// A usage curve over time since the container started.
#[derive(Clone, Debug, PartialEq)]
pub enum UsageModel {
    /// Always the same value.
    Constant(f64),
    /// Linear change, then flat.
    Ramp {
        /// Value at t = 0.
        from: f64,
        /// Value from t = seconds on.
        to: f64,
        /// Length of the ramp, seconds.
        seconds: f64,
    },
    /// A sine wave around a mean.
    Sine {
        /// Centre value.
        mean: f64,
        /// Peak deviation from the mean.
        amplitude: f64,
        /// Period, seconds.
        period: f64,
    },
    /// A single change.
    Step {
        /// Value before `at`.
        before: f64,
        /// Value from `at` on.
        after: f64,
        /// When it changes, seconds.
        at: f64,
    },
    /// Periodic bursts.
    Spikes {
        /// Value between bursts.
        base: f64,
        /// Value during a burst.
        peak: f64,
        /// Time from one burst's start to the next, seconds.
        every: f64,
        /// Length of a burst, seconds.
        length: f64,
    },
    /// Unbounded linear growth (memory leaks).
    Growth {
        /// Value at t = 0.
        start: f64,
        /// Increase per second.
        per_second: f64,
    },
}

/// A model string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid usage model {input:?}: {reason}")]
pub struct UsageModelError {
    /// The text given.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl UsageModel {
    /// The value at `t` seconds after the container started (cores or bytes), never negative.
    pub fn at(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        let v = match *self {
            Self::Constant(v) => v,
            Self::Ramp { from, to, seconds } => {
                if seconds <= 0.0 || t >= seconds {
                    to
                } else {
                    from + (to - from) * t / seconds
                }
            }
            Self::Sine {
                mean,
                amplitude,
                period,
            } => mean + amplitude * (std::f64::consts::TAU * t / period.max(f64::EPSILON)).sin(),
            Self::Step { before, after, at } => {
                if t < at {
                    before
                } else {
                    after
                }
            }
            Self::Spikes {
                base,
                peak,
                every,
                length,
            } => {
                if every > 0.0 && t % every < length {
                    peak
                } else {
                    base
                }
            }
            Self::Growth { start, per_second } => start + per_second * t,
        };
        v.max(0.0)
    }
}

impl std::str::FromStr for UsageModel {
    type Err = UsageModelError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| UsageModelError {
            input: input.to_string(),
            reason,
        };
        let mut parts = input.trim().split(':');
        let kind = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(format!(
                    "{kind} takes {n} argument(s), got {}",
                    args.len()
                )))
            }
        };
        let amount = |i: usize| -> Result<f64, UsageModelError> {
            args[i]
                .parse::<Quantity>()
                .map(|q| q.as_f64())
                .map_err(|e| err(e.to_string()))
        };
        let seconds = |i: usize| -> Result<f64, UsageModelError> {
            args[i]
                .trim_end_matches('s')
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| err(format!("{:?} is not a number of seconds", args[i])))
        };
        Ok(match kind {
            "constant" => {
                want(1)?;
                Self::Constant(amount(0)?)
            }
            "ramp" => {
                want(3)?;
                Self::Ramp {
                    from: amount(0)?,
                    to: amount(1)?,
                    seconds: seconds(2)?,
                }
            }
            "sine" => {
                want(3)?;
                let period = seconds(2)?;
                if period == 0.0 {
                    return Err(err("the period must be positive".into()));
                }
                Self::Sine {
                    mean: amount(0)?,
                    amplitude: amount(1)?,
                    period,
                }
            }
            "step" => {
                want(3)?;
                Self::Step {
                    before: amount(0)?,
                    after: amount(1)?,
                    at: seconds(2)?,
                }
            }
            "spikes" => {
                want(4)?;
                Self::Spikes {
                    base: amount(0)?,
                    peak: amount(1)?,
                    every: seconds(2)?,
                    length: seconds(3)?,
                }
            }
            "growth" => {
                want(2)?;
                Self::Growth {
                    start: amount(0)?,
                    per_second: amount(1)?,
                }
            }
            other => {
                return Err(err(format!(
                    "unknown model {other:?} (constant, ramp, sine, step, spikes, growth)"
                )));
            }
        })
    }
}

/// The CPU and memory models of one container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerUsageModels {
    /// CPU, cores.
    pub cpu: UsageModel,
    /// Memory, bytes.
    pub memory: UsageModel,
}

/// What a container does when nothing is annotated: a light, steady load.
pub fn default_models() -> ContainerUsageModels {
    ContainerUsageModels {
        cpu: UsageModel::Constant(0.01),
        memory: UsageModel::Constant(20.0 * 1024.0 * 1024.0),
    }
}

/// The models of `container` from the pod's annotations: the container-specific annotation wins
/// over the pod-wide one, which wins over [`default_models`]. Errors name the annotation.
pub fn models_for(
    annotations: &BTreeMap<String, String>,
    container: &str,
) -> Result<ContainerUsageModels, UsageModelError> {
    let pick = |prefix: &str, fallback: UsageModel| -> Result<UsageModel, UsageModelError> {
        let specific = format!("{prefix}.{container}");
        match annotations
            .get(&specific)
            .or_else(|| annotations.get(prefix))
        {
            Some(text) => text.parse(),
            None => Ok(fallback),
        }
    };
    let defaults = default_models();
    Ok(ContainerUsageModels {
        cpu: pick(CPU_ANNOTATION, defaults.cpu)?,
        memory: pick(MEMORY_ANNOTATION, defaults.memory)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> UsageModel {
        s.parse().unwrap()
    }

    #[test]
    fn each_model_follows_its_curve() {
        assert_eq!(m("constant:0.5").at(1e6), 0.5);
        assert_eq!(m("constant:60Mi").at(0.0), 60.0 * 1024.0 * 1024.0);
        let ramp = m("ramp:100m:1:100");
        assert!((ramp.at(50.0) - 0.55).abs() < 1e-9);
        assert_eq!(ramp.at(1000.0), 1.0);
        let sine = m("sine:1:0.5:60");
        assert!((sine.at(15.0) - 1.5).abs() < 1e-9);
        assert!((sine.at(45.0) - 0.5).abs() < 1e-9);
        assert_eq!(m("step:1:2:10").at(9.9), 1.0);
        assert_eq!(m("step:1:2:10").at(10.0), 2.0);
        let spikes = m("spikes:100m:2:60:5");
        assert_eq!(spikes.at(61.0), 2.0);
        assert_eq!(spikes.at(70.0), 0.1);
        assert_eq!(m("growth:10Mi:1Mi").at(5.0), 15.0 * 1024.0 * 1024.0);
        assert_eq!(m("sine:0:1:60").at(45.0), 0.0, "never negative");
    }

    #[test]
    fn bad_models_say_what_is_wrong() {
        for (bad, why) in [
            ("wobble:1", "unknown model"),
            ("constant", "takes 1 argument"),
            ("ramp:1:2", "takes 3 argument"),
            ("constant:lots", "invalid quantity"),
            ("step:1:2:soon", "not a number of seconds"),
            ("sine:1:1:0", "period must be positive"),
        ] {
            let e = bad.parse::<UsageModel>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn container_annotation_wins_over_pod_annotation() {
        let annotations: BTreeMap<String, String> = [
            ("sim.vpa.rs/cpu".to_string(), "constant:0.5".to_string()),
            (
                "sim.vpa.rs/cpu.sidecar".to_string(),
                "constant:50m".to_string(),
            ),
        ]
        .into();
        assert_eq!(
            models_for(&annotations, "app").unwrap().cpu,
            UsageModel::Constant(0.5)
        );
        assert_eq!(
            models_for(&annotations, "sidecar").unwrap().cpu,
            UsageModel::Constant(0.05)
        );
        assert_eq!(
            models_for(&annotations, "app").unwrap().memory,
            default_models().memory
        );
    }
}
