//! The built-in records of the workload groups: apps, batch, autoscaling and policy. Pure data.

use super::{B, path, res};
use crate::defaults;
use crate::proto::messages;
use crate::resource::SelectorForm;
use crate::table::ColumnValue::{Age, Computed, Name};
use crate::table::cells;

/// The workload kinds, in discovery order.
pub(super) fn kinds() -> Vec<B> {
    let apps = "apps/v1";
    vec![
        res(
            apps,
            "deployments",
            "Deployment",
            true,
            "io.k8s.api.apps.v1.Deployment",
        )
        .proto(&messages::DEPLOYMENT)
        .defaults(defaults::deployment)
        .short(&["deploy"])
        .all()
        .status()
        .scale(1, SelectorForm::LabelSelector)
        .cols([
            ("NAME", Name, 0),
            ("READY", Computed(cells::deployment_ready), 0),
            ("UP-TO-DATE", path(".status.updatedReplicas"), 0),
            ("AVAILABLE", path(".status.availableReplicas"), 0),
            ("AGE", Age, 0),
        ]),
        res(
            apps,
            "replicasets",
            "ReplicaSet",
            true,
            "io.k8s.api.apps.v1.ReplicaSet",
        )
        .defaults(defaults::replicated)
        .short(&["rs"])
        .all()
        .status()
        .scale(0, SelectorForm::LabelSelector)
        .replica_columns(),
        res(
            apps,
            "statefulsets",
            "StatefulSet",
            true,
            "io.k8s.api.apps.v1.StatefulSet",
        )
        .defaults(defaults::replicated)
        .short(&["sts"])
        .all()
        .status()
        .scale(0, SelectorForm::LabelSelector),
        res(
            apps,
            "daemonsets",
            "DaemonSet",
            true,
            "io.k8s.api.apps.v1.DaemonSet",
        )
        .defaults(defaults::templated)
        .short(&["ds"])
        .all()
        .status(),
        res("batch/v1", "jobs", "Job", true, "io.k8s.api.batch.v1.Job")
            .defaults(defaults::templated)
            .all()
            .status(),
        res(
            "batch/v1",
            "cronjobs",
            "CronJob",
            true,
            "io.k8s.api.batch.v1.CronJob",
        )
        .short(&["cj"])
        .all()
        .status(),
        res(
            "autoscaling/v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
        )
        .defaults(defaults::horizontal_pod_autoscaler)
        .short(&["hpa"])
        .all()
        .status()
        .cols([
            ("NAME", Name, 0),
            ("REFERENCE", Computed(cells::hpa_reference), 0),
            ("TARGETS", Computed(cells::hpa_targets), 0),
            ("MINPODS", path(".spec.minReplicas"), 0),
            ("MAXPODS", path(".spec.maxReplicas"), 0),
            ("REPLICAS", path(".status.currentReplicas"), 0),
            ("AGE", Age, 0),
        ]),
        res(
            "policy/v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
            "io.k8s.api.policy.v1.PodDisruptionBudget",
        )
        .short(&["pdb"])
        .status(),
    ]
}
