//! The built-in records of the core group (and the EndpointSlices that go with Services). Pure
//! data.

use super::{B, path, res};
use crate::defaults;
use crate::proto::messages;
use crate::resource::{CREATE_VERBS, SelectorForm, Subresource};
use crate::table::ColumnValue::{Age, Computed, Name};
use crate::table::cells;

/// The core kinds, in discovery order.
pub(super) fn kinds() -> Vec<B> {
    let v1 = "v1";
    vec![
        res(
            v1,
            "namespaces",
            "Namespace",
            false,
            "io.k8s.api.core.v1.Namespace",
        )
        .proto(&messages::NS)
        .short(&["ns"])
        .status()
        .cols([
            ("NAME", Name, 0),
            ("STATUS", path(".status.phase"), 0),
            ("AGE", Age, 0),
        ]),
        res(v1, "pods", "Pod", true, "io.k8s.api.core.v1.Pod")
            .proto(&messages::POD)
            .defaults(defaults::pod)
            .short(&["po"])
            .all()
            .status()
            .sub(Subresource {
                name: "binding",
                kind: "Binding",
                group: None,
                version: None,
                verbs: CREATE_VERBS,
                proto: None,
            })
            .sub(Subresource {
                name: "eviction",
                kind: "Eviction",
                group: Some("policy"),
                version: Some("v1"),
                verbs: CREATE_VERBS,
                proto: None,
            })
            .sub(Subresource {
                name: "log",
                kind: "Pod",
                group: None,
                version: None,
                verbs: &["get"],
                proto: None,
            })
            .sub(Subresource {
                name: "resize",
                kind: "Pod",
                group: None,
                version: None,
                verbs: &["get", "patch", "update"],
                proto: None,
            })
            .cols([
                ("NAME", Name, 0),
                ("READY", Computed(cells::pod_ready), 0),
                ("STATUS", Computed(cells::pod_status), 0),
                ("RESTARTS", Computed(cells::pod_restarts), 0),
                ("AGE", Age, 0),
                ("IP", path(".status.podIP"), 1),
                ("NODE", path(".spec.nodeName"), 1),
            ]),
        res(
            v1,
            "replicationcontrollers",
            "ReplicationController",
            true,
            "io.k8s.api.core.v1.ReplicationController",
        )
        .defaults(defaults::replication_controller)
        .short(&["rc"])
        .all()
        .status()
        .scale(0, SelectorForm::LabelMap)
        .replica_columns(),
        res(v1, "events", "Event", true, "io.k8s.api.core.v1.Event")
            .short(&["ev"])
            .cols([
                ("LAST SEEN", Computed(cells::event_last_seen), 0),
                ("TYPE", path(".type"), 0),
                ("REASON", path(".reason"), 0),
                ("OBJECT", Computed(cells::event_object), 0),
                ("MESSAGE", path(".message"), 0),
            ]),
        res(
            v1,
            "limitranges",
            "LimitRange",
            true,
            "io.k8s.api.core.v1.LimitRange",
        )
        .short(&["limits"]),
        res(
            v1,
            "resourcequotas",
            "ResourceQuota",
            true,
            "io.k8s.api.core.v1.ResourceQuota",
        )
        .short(&["quota"])
        .status(),
        res(v1, "nodes", "Node", false, "io.k8s.api.core.v1.Node")
            .short(&["no"])
            .status()
            .cols([
                ("NAME", Name, 0),
                ("STATUS", Computed(cells::node_status), 0),
                ("ROLES", Computed(cells::node_roles), 0),
                ("AGE", Age, 0),
                ("VERSION", path(".status.nodeInfo.kubeletVersion"), 0),
            ]),
        res(
            v1,
            "services",
            "Service",
            true,
            "io.k8s.api.core.v1.Service",
        )
        .defaults(defaults::service)
        .short(&["svc"])
        .all()
        .status()
        .cols([
            ("NAME", Name, 0),
            ("TYPE", path(".spec.type"), 0),
            ("CLUSTER-IP", path(".spec.clusterIP"), 0),
            ("PORT(S)", Computed(cells::service_ports), 0),
            ("AGE", Age, 0),
        ]),
        res(
            v1,
            "endpoints",
            "Endpoints",
            true,
            "io.k8s.api.core.v1.Endpoints",
        )
        .short(&["ep"]),
        res(
            "discovery.k8s.io/v1",
            "endpointslices",
            "EndpointSlice",
            true,
            "io.k8s.api.discovery.v1.EndpointSlice",
        )
        .cols([
            ("NAME", Name, 0),
            ("ADDRESSTYPE", path(".addressType"), 0),
            ("PORTS", Computed(cells::slice_ports), 0),
            ("ENDPOINTS", Computed(cells::slice_endpoints), 0),
            ("AGE", Age, 0),
        ]),
        res(v1, "secrets", "Secret", true, "io.k8s.api.core.v1.Secret")
            .proto(&messages::SECRET)
            .cols([
                ("NAME", Name, 0),
                ("TYPE", path(".type"), 0),
                ("DATA", Computed(cells::data_count), 0),
                ("AGE", Age, 0),
            ]),
        res(
            v1,
            "configmaps",
            "ConfigMap",
            true,
            "io.k8s.api.core.v1.ConfigMap",
        )
        .proto(&messages::CM)
        .short(&["cm"])
        .cols([
            ("NAME", Name, 0),
            ("DATA", Computed(cells::data_count), 0),
            ("AGE", Age, 0),
        ]),
        res(
            v1,
            "serviceaccounts",
            "ServiceAccount",
            true,
            "io.k8s.api.core.v1.ServiceAccount",
        )
        .proto(&messages::SA)
        .short(&["sa"])
        .sub(Subresource {
            name: "token",
            kind: "TokenRequest",
            group: Some("authentication.k8s.io"),
            version: Some("v1"),
            verbs: CREATE_VERBS,
            proto: Some(&messages::TOKEN),
        }),
    ]
}
