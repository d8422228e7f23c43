//! What the simulated controllers decide to do, as data (pure): the plans of `workloads`, `sets`
//! and `endpoints` return these and `controllers` executes them through the API.

use kube::core::ApiResource;
use serde_json::Value;

/// A kind the controllers write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
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
    /// Group, version, kind and plural for kube's dynamic API.
    pub fn api_resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Kind::Pod => ("", "v1", "Pod", "pods"),
            Kind::ReplicaSet => ("apps", "v1", "ReplicaSet", "replicasets"),
            Kind::ReplicationController => {
                ("", "v1", "ReplicationController", "replicationcontrollers")
            }
            Kind::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Kind::StatefulSet => ("apps", "v1", "StatefulSet", "statefulsets"),
            Kind::DaemonSet => ("apps", "v1", "DaemonSet", "daemonsets"),
            Kind::Job => ("batch", "v1", "Job", "jobs"),
            Kind::CronJob => ("batch", "v1", "CronJob", "cronjobs"),
            Kind::Endpoints => ("", "v1", "Endpoints", "endpoints"),
            Kind::EndpointSlice => ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
            Kind::Service => ("", "v1", "Service", "services"),
            Kind::Node => ("", "v1", "Node", "nodes"),
            Kind::Event => ("", "v1", "Event", "events"),
        };
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        ApiResource {
            group: group.into(),
            version: version.into(),
            api_version,
            kind: kind.into(),
            plural: plural.into(),
        }
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
