//! What the simulated controllers decide to do, as data (pure): the plans of `workloads`, `sets`
//! and `endpoints` return these and `controllers::manager` executes them through the API. The
//! kinds are named once; their groups, versions and plurals come from the built-in table.

use kube::core::ApiResource;
use serde_json::Value;

use crate::resource::builtin_registry;

/// Declares [`Kind`] from one list of built-in kind names: each variant is spelled as the kind
/// is, and everything else about it comes from its record in the built-in table.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        /// A kind the controllers write.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $($(#[$doc])* $kind,)*
        }

        impl Kind {
            /// Every kind the controllers write.
            #[cfg(test)]
            pub const ALL: &[Kind] = &[$(Kind::$kind,)*];

            /// The kind's name, as its record in the built-in table spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Kind::$kind => stringify!($kind),)*
                }
            }
        }
    };
}

kinds! {
    /// core/v1 Pod.
    Pod,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// core/v1 ReplicationController.
    ReplicationController,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// core/v1 Endpoints.
    Endpoints,
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice,
    /// core/v1 Service.
    Service,
    /// core/v1 Node.
    Node,
    /// core/v1 Event.
    Event,
}

impl Kind {
    /// Group, version, kind and plural for kube's dynamic API, from the kind's built-in record.
    pub fn api_resource(self) -> ApiResource {
        builtin_registry()
            .all()
            .find(|r| r.stored && r.kind == self.name())
            .map(|r| r.api_resource())
            .unwrap_or_else(|| panic!("{} is a built-in kind", self.name()))
    }
}

/// One write.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create `object` (its metadata carries namespace and name).
    Create(Kind, Value),
    /// Set `spec.replicas` of a ReplicaSet.
    Scale {
        /// Namespace.
        namespace: String,
        /// ReplicaSet name.
        name: String,
        /// New `spec.replicas`.
        replicas: i64,
    },
    /// Delete an object.
    Delete(Kind, String, String),
    /// Replace the object's status (merge patch of `status`).
    Status(Kind, String, String, Value),
    /// Replace a whole object (Endpoints have no status).
    Replace(Kind, Value),
    /// Set one annotation (merge patch of `metadata.annotations`).
    Annotate {
        /// Kind of the object.
        kind: Kind,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Annotation key.
        key: String,
        /// Annotation value.
        value: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_built_in_record() {
        let got: Vec<(String, String, String)> = Kind::ALL
            .iter()
            .map(|k| {
                let ar = k.api_resource();
                assert_eq!(ar.kind, k.name());
                (ar.group, ar.version, ar.plural)
            })
            .collect();
        let want = [
            ("", "v1", "pods"),
            ("apps", "v1", "replicasets"),
            ("", "v1", "replicationcontrollers"),
            ("apps", "v1", "deployments"),
            ("apps", "v1", "statefulsets"),
            ("apps", "v1", "daemonsets"),
            ("batch", "v1", "jobs"),
            ("batch", "v1", "cronjobs"),
            ("", "v1", "endpoints"),
            ("discovery.k8s.io", "v1", "endpointslices"),
            ("", "v1", "services"),
            ("", "v1", "nodes"),
            ("", "v1", "events"),
        ]
        .map(|(g, v, p)| (g.to_string(), v.to_string(), p.to_string()));
        assert_eq!(got, want);
    }
}
