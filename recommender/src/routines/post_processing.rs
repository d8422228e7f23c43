//! Post-processing of the estimator's recommendations before they are written (pure), in
//! upstream's order:
//!
//! 1. rounding up to `--round-cpu-millicores` / `--round-memory-bytes` (upstream rounds while it
//!    turns amounts into quantities, before any post-processor runs), in all four fields;
//! 2. whole cores for containers whose VPA annotation asks for them
//!    (`--cpu-integer-post-processor-enabled`), in all four fields;
//! 3. capping of target and bounds to the container policy's `minAllowed`/`maxAllowed`, with
//!    the global `--container-recommendation-max-allowed-*` for resources its `maxAllowed` leaves
//!    out; `uncappedTarget` stays as rounded.
//!
//! Capping comes last so that status never exceeds `maxAllowed`: rounding a capped 1001m up to a
//! multiple of 1000m would write 2000m.

use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::capping::{ContainerRecommendation, apply_vpa_policy};
use vpa_common::postprocess;

use crate::config::OutputConfig;

/// `recommendations` (millicores, bytes) of `vpa`'s containers as they are to be written.
pub fn post_process(
    mut recommendations: Vec<ContainerRecommendation>,
    vpa: &VerticalPodAutoscaler,
    output: &OutputConfig,
) -> Vec<ContainerRecommendation> {
    for rec in &mut recommendations {
        postprocess::round_recommendation(
            rec,
            output.round_cpu_millicores,
            output.round_memory_bytes,
        );
    }
    if output.integer_cpu {
        postprocess::apply_integer_cpu(&mut recommendations, vpa.metadata.annotations.as_ref());
    }
    apply_vpa_policy(
        &recommendations,
        vpa.spec.resource_policy.as_ref(),
        &output.global_max_allowed,
    )
}

#[cfg(test)]
mod tests {
    use vpa_common::resources::{Amounts, CPU, MEMORY};
    use vpa_common::testutil::VpaBuilder;

    use super::*;

    fn amounts(cpu: i64, memory: i64) -> Amounts {
        Amounts::from([(CPU.to_string(), cpu), (MEMORY.to_string(), memory)])
    }

    fn rounding(cpu_millicores: i64, memory_bytes: i64) -> OutputConfig {
        OutputConfig {
            round_cpu_millicores: cpu_millicores,
            round_memory_bytes: memory_bytes,
            ..OutputConfig::default()
        }
    }

    #[test]
    fn rounding_happens_before_capping_so_status_stays_within_max_allowed() {
        let vpa = VpaBuilder::new("ns", "app-vpa")
            .container("app")
            .max_allowed("1001m", "1000000001")
            .build();
        let uncapped = amounts(1200, 1_200_000_000);
        let recs = vec![ContainerRecommendation {
            container_name: "app".into(),
            target: uncapped.clone(),
            lower_bound: amounts(600, 600_000_000),
            upper_bound: amounts(5000, 5_000_000_000),
            uncapped_target: uncapped,
        }];
        let out = post_process(recs, &vpa, &rounding(1000, 1_000_000_000));
        let app = &out[0];
        assert_eq!(
            app.target,
            amounts(1001, 1_000_000_001),
            "capped, not 2000m/2e9"
        );
        assert_eq!(app.upper_bound, amounts(1001, 1_000_000_001));
        assert_eq!(app.lower_bound, amounts(1000, 1_000_000_000));
        assert_eq!(app.uncapped_target, amounts(2000, 2_000_000_000));
    }

    #[test]
    fn rounded_values_are_raised_to_min_allowed_and_whole_cores_come_after_rounding() {
        let vpa = VpaBuilder::new("ns", "app-vpa")
            .annotation(&postprocess::integer_cpu_annotation("app"), "true")
            .container("app")
            .min_allowed("250m", "")
            .build();
        let output = OutputConfig {
            integer_cpu: true,
            ..rounding(300, 1)
        };
        // 1001m rounds to 1200m, then to whole cores: 2000m (not 2100m, which whole cores first
        // and rounding after would give).
        let recs = vec![ContainerRecommendation {
            container_name: "app".into(),
            target: amounts(1001, 7),
            lower_bound: amounts(0, 7),
            upper_bound: amounts(1001, 7),
            uncapped_target: amounts(1001, 7),
        }];
        let app = &post_process(recs, &vpa, &output)[0];
        assert_eq!(app.target[CPU], 2000);
        assert_eq!(app.uncapped_target[CPU], 2000);
        assert_eq!(
            app.lower_bound[CPU], 250,
            "zero stays zero, then minAllowed"
        );
    }
}
