//! Schemas: the built-in types' OpenAPI v3 component schemas (generated once from k8s-openapi's
//! schemars impls), CRD schemas, and decoding of request bodies with duplicate-field detection.
//! Pure (the built-in definitions are computed lazily and cached).

mod cel;
mod decode;
mod path;
mod validate;

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

pub use decode::{decode_json, duplicate_fields};
pub use validate::{Mode, check};

/// The prefix of a reference to a component schema.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// The component schemas of every built-in kind the server serves (and what they reference),
/// keyed by their OpenAPI names (`io.k8s.api.core.v1.Pod`).
pub fn builtin_defs() -> &'static Map<String, Value> {
    static DEFS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFS.get_or_init(|| {
        use k8s_openapi::api::{
            admissionregistration::v1 as adm, apps::v1 as apps, autoscaling::v2 as hpa,
            batch::v1 as batch, coordination::v1 as coord, core::v1 as core,
            discovery::v1 as discovery, policy::v1 as policy, rbac::v1 as rbac,
        };
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
        let mut g = SchemaSettings::openapi3().into_generator();
        macro_rules! register {
            ($($t:ty),* $(,)?) => { $( g.subschema_for::<$t>(); )* };
        }
        register!(
            core::Namespace,
            core::Pod,
            core::ReplicationController,
            core::Event,
            core::LimitRange,
            core::ResourceQuota,
            core::Node,
            core::Service,
            core::Endpoints,
            discovery::EndpointSlice,
            core::Secret,
            core::ConfigMap,
            core::ServiceAccount,
            core::Binding,
            apps::Deployment,
            apps::ReplicaSet,
            apps::StatefulSet,
            apps::DaemonSet,
            batch::Job,
            batch::CronJob,
            hpa::HorizontalPodAutoscaler,
            policy::PodDisruptionBudget,
            policy::Eviction,
            coord::Lease,
            rbac::Role,
            rbac::RoleBinding,
            rbac::ClusterRole,
            rbac::ClusterRoleBinding,
            adm::MutatingWebhookConfiguration,
            adm::ValidatingWebhookConfiguration,
            apiext::CustomResourceDefinition,
            k8s_openapi::api::autoscaling::v1::Scale,
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Status,
        );
        let mut defs = g.take_definitions(true);
        // apiextensions' JSON holds any value (enum members, defaults, examples), not only objects.
        if let Some(Value::Object(json)) =
            defs.get_mut("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON")
        {
            json.remove("type");
        }
        defs
    })
}

/// Resolves a `$ref` (and a lone `allOf: [$ref]` wrapper) against `defs`.
pub fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    let mut s = schema;
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match r.strip_prefix(REF_PREFIX).and_then(|n| defs.get(n)) {
                Some(d) => s = d,
                None => return s,
            }
        } else if let Some([single]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            s = single;
        } else {
            return s;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_defs_hold_the_kinds_and_their_parts() {
        let defs = builtin_defs();
        for name in [
            "io.k8s.api.core.v1.Pod",
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.api.core.v1.Container",
        ] {
            assert!(defs.contains_key(name), "{name}");
        }
        let pod = &defs["io.k8s.api.core.v1.Pod"];
        let spec = resolve(&pod["properties"]["spec"], defs);
        assert!(spec["properties"]["containers"].is_object());
    }
}
