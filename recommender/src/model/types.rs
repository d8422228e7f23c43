//! Units of the engine (pure): timestamps in whole Unix seconds and integer resource amounts
//! (CPU in millicores, memory in bytes), with upstream's float conversions.

/// A point in time: whole seconds since the Unix epoch, UTC. The engine never reads the clock;
/// every instant, including "now", is passed in as one of these. Checkpoints store whole seconds
/// too, so nothing is lost when state goes through a checkpoint.
pub type Timestamp = i64;

/// A length of time in whole seconds.
pub type Seconds = i64;

/// Weight of every CPU sample (constant: upstream dropped request weighting in 1.4.0).
pub const CPU_SAMPLE_WEIGHT: f64 = 0.1;
/// Weight of every memory peak.
pub const MEMORY_PEAK_WEIGHT: f64 = 1.0;

/// One minute.
pub const MINUTE: Seconds = 60;
/// One hour.
pub const HOUR: Seconds = 60 * MINUTE;
/// One day.
pub const DAY: Seconds = 24 * HOUR;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds. Upstream rounds decay reference
/// timestamps to multiples of the half-life counted from this instant, and a histogram that never
/// saw a sample keeps it as its reference (written as `null` in a checkpoint).
pub const GO_ZERO_TIME: Timestamp = -62_135_596_800;

/// An amount of a resource: millicores for CPU, bytes for memory (upstream's `ResourceAmount`).
pub type ResourceAmount = i64;

/// The largest amount the engine produces (1e14), as upstream's `MaxResourceAmount`.
pub const MAX_RESOURCE_AMOUNT: ResourceAmount = vpa_common::resources::MAX_AMOUNT;

/// The two resources the recommender models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// CPU, in millicores.
    Cpu,
    /// Memory, in bytes.
    Memory,
}

impl Resource {
    /// The Kubernetes resource name (`cpu`, `memory`).
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => vpa_common::resources::CPU,
            Resource::Memory => vpa_common::resources::MEMORY,
        }
    }
}

/// One amount per modelled resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// Millicores.
    pub cpu: ResourceAmount,
    /// Bytes.
    pub memory: ResourceAmount,
}

impl Resources {
    /// The amount of `resource`.
    pub fn get(&self, resource: Resource) -> ResourceAmount {
        match resource {
            Resource::Cpu => self.cpu,
            Resource::Memory => self.memory,
        }
    }

    /// Applies `f` to each resource's amount.
    pub fn map(self, mut f: impl FnMut(Resource, ResourceAmount) -> ResourceAmount) -> Self {
        Self {
            cpu: f(Resource::Cpu, self.cpu),
            memory: f(Resource::Memory, self.memory),
        }
    }
}

/// One usage measurement of one container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerUsageSample {
    /// Start of the measurement interval.
    pub measure_start: Timestamp,
    /// Average CPU usage in millicores, or memory usage in bytes.
    pub usage: ResourceAmount,
    /// Which resource was measured.
    pub resource: Resource,
}

/// Converts a float amount to a [`ResourceAmount`] as upstream does: truncated towards zero,
/// clamped to `[0, MAX_RESOURCE_AMOUNT]` (NaN becomes 0).
pub fn resource_amount_from_float(amount: f64) -> ResourceAmount {
    if amount > MAX_RESOURCE_AMOUNT as f64 {
        MAX_RESOURCE_AMOUNT
    } else if amount < 0.0 {
        0
    } else {
        amount as ResourceAmount
    }
}

/// Cores to millicores, truncated (upstream's `CPUAmountFromCores`).
pub fn cpu_amount_from_cores(cores: f64) -> ResourceAmount {
    resource_amount_from_float(cores * 1000.0)
}

/// Millicores to cores.
pub fn cores_from_cpu_amount(amount: ResourceAmount) -> f64 {
    amount as f64 / 1000.0
}

/// Bytes to a memory amount, truncated.
pub fn memory_amount_from_bytes(bytes: f64) -> ResourceAmount {
    resource_amount_from_float(bytes)
}

/// A memory amount in bytes, as a float.
pub fn bytes_from_memory_amount(amount: ResourceAmount) -> f64 {
    amount as f64
}

/// `amount × factor`, truncated and clamped like every float-to-amount conversion.
pub fn scale_resource(amount: ResourceAmount, factor: f64) -> ResourceAmount {
    resource_amount_from_float(amount as f64 * factor)
}

/// `x^y` as Go's `math.Pow` computes it for the integral exponents the engine uses (binary
/// exponentiation, then a reciprocal for negative `y`), so bucket edges and confidence
/// multipliers match upstream bit for bit. Other exponents fall back to `powf`.
pub fn go_pow(x: f64, y: f64) -> f64 {
    if y.fract() != 0.0 || y.abs() >= 2_147_483_648.0 {
        return x.powf(y);
    }
    let mut result = 1.0;
    let mut square = x;
    let mut n = y.abs() as u64;
    while n != 0 {
        if n & 1 == 1 {
            result *= square;
        }
        square *= square;
        n >>= 1;
    }
    if y < 0.0 { 1.0 / result } else { result }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_amounts_truncate_and_clamp() {
        assert_eq!(cpu_amount_from_cores(0.5111), 511);
        assert_eq!(cpu_amount_from_cores(-1.0), 0);
        assert_eq!(cpu_amount_from_cores(1e300), MAX_RESOURCE_AMOUNT);
        assert_eq!(resource_amount_from_float(f64::NAN), 0);
        assert_eq!(scale_resource(25, 0.5), 12);
        assert_eq!(scale_resource(587, f64::INFINITY), MAX_RESOURCE_AMOUNT);
    }

    #[test]
    fn go_pow_matches_exact_powers_and_reciprocals() {
        assert_eq!(go_pow(2.0, 10.0), 1024.0);
        assert_eq!(go_pow(2.0, -2.0), 0.25);
        assert_eq!(go_pow(3.0, 1.0), 3.0);
        assert_eq!(go_pow(f64::INFINITY, 1.0), f64::INFINITY);
        assert_eq!(go_pow(f64::INFINITY, -2.0), 0.0);
        assert_eq!(go_pow(1.05, 0.0), 1.0);
        assert_eq!(go_pow(4.0, 0.5), 2.0);
    }
}
