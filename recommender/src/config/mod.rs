//! The recommender's settings as plain data, on the bottom floor: the rooms above (`input`,
//! `routines`, `service`, `replay`, `report`) read them, and nothing here reads those rooms.
//! The engine's flags ([`engine`]), the post-processing settings ([`OutputConfig`]), the default
//! recommender name, and what is kept of a VPA's stored status ([`stored_status`]).

use vpa_common::resources::Amounts;

pub mod engine;
pub mod stored_status;

/// Name of the recommender that also handles VPAs naming no recommender
/// (`--recommender-name`'s default).
pub const DEFAULT_RECOMMENDER_NAME: &str = "default";

/// Post-processing of recommendations before they are written; the defaults are upstream's
/// flag defaults (no cap, no rounding, no whole cores).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputConfig {
    /// Upper bound for resources a container policy's `maxAllowed` leaves out
    /// (`--container-recommendation-max-allowed-cpu/-memory`; millicores, bytes).
    pub global_max_allowed: Amounts,
    /// Round CPU up to a multiple of this many millicores (`--round-cpu-millicores`, 1 = off).
    pub round_cpu_millicores: i64,
    /// Round memory up to a multiple of this many bytes (`--round-memory-bytes`, 1 = off).
    pub round_memory_bytes: i64,
    /// Honour the `vpa-post-processor.kubernetes.io/<container>_integerCPU` annotation
    /// (`--cpu-integer-post-processor-enabled`).
    pub integer_cpu: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            global_max_allowed: Amounts::default(),
            round_cpu_millicores: 1,
            round_memory_bytes: 1,
            integer_cpu: false,
        }
    }
}
