//! VPA objects (JSON) through the admission controller's validation. Checks: enabling feature
//! gates never turns a valid VPA invalid; an UPDATE that changes nothing is valid whenever the
//! CREATE was (ratcheting only loosens); the defaulting patch applies and the defaulted VPA is
//! valid exactly when the original was; warnings are computed without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vpa_admission_controller::validation::{self, Context};
use vpa_common::api::VerticalPodAutoscaler;
use vpa_fuzz::admission::GATE_SETS;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(vpa) = vpa_common::api::from_json_value::<VerticalPodAutoscaler>(value) else {
        return;
    };
    let [off, on] = GATE_SETS;
    let created = validation::validate(&vpa, off, None);
    let created_on = validation::validate(&vpa, on, None);
    if created.is_ok() {
        assert_eq!(created_on, Ok(()), "enabling gates refused a valid VPA");
    }
    for gates in GATE_SETS {
        let first = validation::validate(&vpa, gates, None);
        let unchanged = validation::validate(&vpa, gates, Some(&vpa));
        if first.is_ok() {
            assert_eq!(
                unchanged,
                Ok(()),
                "an unchanged UPDATE of a valid VPA is refused"
            );
        }
    }

    let patch = validation::defaulting_patch(&vpa);
    let mut doc = serde_json::to_value(&vpa).expect("a VPA encodes");
    json_patch::patch(&mut doc, &patch).expect("the defaulting patch applies");
    let defaulted: VerticalPodAutoscaler =
        vpa_common::api::from_json_value(doc).expect("a defaulted VPA is a VPA");
    assert!(
        validation::defaulting_patch(&defaulted).is_empty(),
        "defaulting is idempotent"
    );
    for gates in GATE_SETS {
        assert_eq!(
            validation::validate(&defaulted, gates, None).is_ok(),
            validation::validate(&vpa, gates, None).is_ok(),
            "defaulting changed validity"
        );
    }
    let ctx = Context {
        old: Some(&vpa),
        hpas: &[],
        target_replicas: Some(1),
    };
    let _ = validation::warnings(&defaulted, &ctx);
});
