//! Recommender output post-processing (pure): whole-core CPU for annotated containers, and
//! rounding up to multiples of `--round-cpu-millicores` / `--round-memory-bytes`.

use std::collections::BTreeMap;

use crate::capping::ContainerRecommendation;
use crate::resources::{Amounts, CPU, MEMORY};

/// Prefix of the VPA annotation asking for whole-core CPU for one container.
pub const POST_PROCESSOR_ANNOTATION_PREFIX: &str = "vpa-post-processor.kubernetes.io/";
/// Suffix of that annotation: `vpa-post-processor.kubernetes.io/<container>_integerCPU`.
pub const INTEGER_CPU_SUFFIX: &str = "_integerCPU";

/// The annotation key that asks for whole-core CPU for `container`.
pub fn integer_cpu_annotation(container: &str) -> String {
    format!("{POST_PROCESSOR_ANNOTATION_PREFIX}{container}{INTEGER_CPU_SUFFIX}")
}

/// Whether the VPA's annotations ask for whole-core CPU for `container` (value `"true"`).
pub fn wants_integer_cpu(annotations: Option<&BTreeMap<String, String>>, container: &str) -> bool {
    annotations
        .and_then(|a| a.get(&integer_cpu_annotation(container)))
        .is_some_and(|v| v == "true")
}

/// `value` rounded up to a multiple of `step`; zero and steps below 2 leave it unchanged.
pub fn round_up(value: i64, step: i64) -> i64 {
    if step <= 1 || value == 0 {
        return value;
    }
    let rem = value.rem_euclid(step);
    if rem == 0 {
        value
    } else {
        value.saturating_add(step - rem)
    }
}

/// Rounds CPU up to whole cores (multiples of 1000 millicores) in target, lowerBound, upperBound
/// and uncappedTarget, as upstream's integer-CPU post-processor does.
pub fn round_cpu_to_whole_cores(rec: &mut ContainerRecommendation) {
    for values in [
        &mut rec.target,
        &mut rec.lower_bound,
        &mut rec.upper_bound,
        &mut rec.uncapped_target,
    ] {
        if let Some(cpu) = values.get_mut(CPU) {
            *cpu = round_up(*cpu, 1000);
        }
    }
}

/// Applies the integer-CPU post-processor to the containers whose annotation asks for it.
pub fn apply_integer_cpu(
    recs: &mut [ContainerRecommendation],
    vpa_annotations: Option<&BTreeMap<String, String>>,
) {
    for rec in recs {
        if wants_integer_cpu(vpa_annotations, &rec.container_name) {
            round_cpu_to_whole_cores(rec);
        }
    }
}

/// Rounds CPU up to a multiple of `cpu_millicores` and memory up to a multiple of
/// `memory_bytes` (the `--round-cpu-millicores` and `--round-memory-bytes` flags; 1 = no
/// rounding).
pub fn round_amounts(values: &mut Amounts, cpu_millicores: i64, memory_bytes: i64) {
    if let Some(cpu) = values.get_mut(CPU) {
        *cpu = round_up(*cpu, cpu_millicores);
    }
    if let Some(mem) = values.get_mut(MEMORY) {
        *mem = round_up(*mem, memory_bytes);
    }
}

/// [`round_amounts`] on target, lowerBound, upperBound and uncappedTarget alike.
pub fn round_recommendation(
    rec: &mut ContainerRecommendation,
    cpu_millicores: i64,
    memory_bytes: i64,
) {
    for values in [
        &mut rec.target,
        &mut rec.lower_bound,
        &mut rec.upper_bound,
        &mut rec.uncapped_target,
    ] {
        round_amounts(values, cpu_millicores, memory_bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_up_goes_to_next_multiple_and_keeps_zero() {
        let cases = [
            (0, 10, 0),
            (1, 10, 10),
            (10, 10, 10),
            (11, 10, 20),
            (587, 1, 587),
            (587, 0, 587),
        ];
        for (value, step, want) in cases {
            assert_eq!(round_up(value, step), want, "round_up({value}, {step})");
        }
    }

    #[test]
    fn integer_cpu_rounds_every_field_of_annotated_container_only() {
        let cpu = |m: i64| Amounts::from([(CPU.to_string(), m)]);
        let mut recs = vec![
            ContainerRecommendation {
                container_name: "app".into(),
                target: cpu(1200),
                lower_bound: cpu(300),
                upper_bound: cpu(2000),
                uncapped_target: cpu(1001),
            },
            ContainerRecommendation::new("other", cpu(1200)),
        ];
        let annotations = BTreeMap::from([(integer_cpu_annotation("app"), "true".to_string())]);
        apply_integer_cpu(&mut recs, Some(&annotations));
        assert_eq!(recs[0].target, cpu(2000));
        assert_eq!(recs[0].lower_bound, cpu(1000));
        assert_eq!(recs[0].upper_bound, cpu(2000));
        assert_eq!(recs[0].uncapped_target, cpu(2000));
        assert_eq!(recs[1].target, cpu(1200));
        assert_eq!(
            integer_cpu_annotation("app"),
            "vpa-post-processor.kubernetes.io/app_integerCPU"
        );
    }

    #[test]
    fn flags_round_cpu_and_memory_separately() {
        let mut v = Amounts::from([(CPU.to_string(), 101), (MEMORY.to_string(), 1_000_001)]);
        round_amounts(&mut v, 50, 1 << 20);
        assert_eq!(v[CPU], 150);
        assert_eq!(v[MEMORY], 1 << 20);
    }
}
