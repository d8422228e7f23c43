//! Per-VPA aggregation settings handed to the model each loop (edge: the decisions are in
//! [`crate::routines::per_vpa`]; this logs what a closed gate ignores).

use std::collections::HashSet;

use tracing::warn;

use super::Recommender;
use crate::input::snapshot::Snapshot;
use crate::routines::per_vpa;

impl Recommender {
    /// Hands the VPAs' per-VPA aggregation settings to the model (gate `PerVPAConfig` on), or
    /// warns once per VPA that sets them while the gate is off: they are then ignored, as
    /// upstream, and the flags apply.
    pub(super) fn apply_per_vpa_config(&mut self, snapshot: &Snapshot) {
        if self.config.gates.per_vpa_config {
            self.cluster.set_overrides(per_vpa::overrides(snapshot));
            return;
        }
        let mut ignoring = HashSet::new();
        for vpa in &snapshot.vpas {
            let fields = per_vpa::ignored_fields(&vpa.vpa);
            if fields.is_empty() {
                continue;
            }
            let key = (vpa.namespace().to_owned(), vpa.name().to_owned());
            if !self.ignoring_per_vpa.contains(&key) {
                warn!(
                    namespace = %key.0,
                    vpa = %key.1,
                    fields = %fields.join(", "),
                    "Ignoring per-VPA settings: feature gate PerVPAConfig is off in the recommender, the flags apply"
                );
            }
            ignoring.insert(key);
        }
        self.ignoring_per_vpa = ignoring;
    }
}
