//! Decoding of the Kubernetes protobuf request bodies that kubectl's typed clients send
//! (`application/vnd.kubernetes.protobuf`: `k8s\0` + runtime.Unknown), for the kinds those
//! commands create: access and self-subject reviews (`kubectl auth can-i/whoami`), token requests
//! (`kubectl create token`), RBAC objects, namespaces, service accounts, config maps, secrets, and
//! the common fields of deployments and pods (`kubectl create deployment`, `kubectl run`). Other kinds
//! get 415 so the caller knows to send JSON. Pure.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

#[derive(Clone, Copy)]
enum F {
    Str,
    Int,
    Bool,
    Msg(&'static [Field]),
    RepMsg(&'static [Field]),
    MapStr,
    MapQuantity,
    MapB64,
    RepStr,
}

struct Field(u32, &'static str, F);

const META: &[Field] = &[
    Field(1, "name", F::Str),
    Field(2, "generateName", F::Str),
    Field(3, "namespace", F::Str),
    Field(6, "resourceVersion", F::Str),
    Field(11, "labels", F::MapStr),
    Field(12, "annotations", F::MapStr),
    Field(14, "finalizers", F::RepStr),
];
const RES_ATTRS: &[Field] = &[
    Field(1, "namespace", F::Str),
    Field(2, "verb", F::Str),
    Field(3, "group", F::Str),
    Field(4, "version", F::Str),
    Field(5, "resource", F::Str),
    Field(6, "subresource", F::Str),
    Field(7, "name", F::Str),
];
const NONRES_ATTRS: &[Field] = &[Field(1, "path", F::Str), Field(2, "verb", F::Str)];
const SSAR_SPEC: &[Field] = &[
    Field(1, "resourceAttributes", F::Msg(RES_ATTRS)),
    Field(2, "nonResourceAttributes", F::Msg(NONRES_ATTRS)),
];
const SAR_SPEC: &[Field] = &[
    Field(1, "resourceAttributes", F::Msg(RES_ATTRS)),
    Field(2, "nonResourceAttributes", F::Msg(NONRES_ATTRS)),
    Field(3, "user", F::Str),
    Field(4, "groups", F::RepStr),
    Field(6, "uid", F::Str),
];
const SSRR_SPEC: &[Field] = &[Field(1, "namespace", F::Str)];
const BOUND_REF: &[Field] = &[
    Field(1, "kind", F::Str),
    Field(2, "apiVersion", F::Str),
    Field(3, "name", F::Str),
    Field(4, "uid", F::Str),
];
const TOKEN_SPEC: &[Field] = &[
    Field(1, "audiences", F::RepStr),
    Field(3, "boundObjectRef", F::Msg(BOUND_REF)),
    Field(4, "expirationSeconds", F::Int),
];
const TOKEN_REVIEW_SPEC: &[Field] = &[Field(1, "token", F::Str), Field(2, "audiences", F::RepStr)];
const NS_SPEC: &[Field] = &[Field(1, "finalizers", F::RepStr)];
const EMPTY: &[Field] = &[];
const RULE: &[Field] = &[
    Field(1, "verbs", F::RepStr),
    Field(2, "apiGroups", F::RepStr),
    Field(3, "resources", F::RepStr),
    Field(4, "resourceNames", F::RepStr),
    Field(5, "nonResourceURLs", F::RepStr),
];
const SUBJECT: &[Field] = &[
    Field(1, "kind", F::Str),
    Field(2, "apiGroup", F::Str),
    Field(3, "name", F::Str),
    Field(4, "namespace", F::Str),
];
const SELECTOR: &[Field] = &[Field(1, "matchLabels", F::MapStr)];
const CONTAINER_PORT: &[Field] = &[
    Field(1, "name", F::Str),
    Field(3, "containerPort", F::Int),
    Field(4, "protocol", F::Str),
];
const RESOURCES: &[Field] = &[
    Field(1, "limits", F::MapQuantity),
    Field(2, "requests", F::MapQuantity),
];
const CONTAINER: &[Field] = &[
    Field(1, "name", F::Str),
    Field(2, "image", F::Str),
    Field(3, "command", F::RepStr),
    Field(4, "args", F::RepStr),
    Field(6, "ports", F::RepMsg(CONTAINER_PORT)),
    Field(8, "resources", F::Msg(RESOURCES)),
    Field(14, "imagePullPolicy", F::Str),
];
const POD_SPEC: &[Field] = &[
    Field(2, "containers", F::RepMsg(CONTAINER)),
    Field(3, "restartPolicy", F::Str),
];
const TEMPLATE: &[Field] = &[
    Field(1, "metadata", F::Msg(META)),
    Field(2, "spec", F::Msg(POD_SPEC)),
];
const DEPLOYMENT_SPEC: &[Field] = &[
    Field(1, "replicas", F::Int),
    Field(2, "selector", F::Msg(SELECTOR)),
    Field(3, "template", F::Msg(TEMPLATE)),
];
const ROLE_REF: &[Field] = &[
    Field(1, "apiGroup", F::Str),
    Field(2, "kind", F::Str),
    Field(3, "name", F::Str),
];

fn kind_fields(kind: &str) -> Option<&'static [Field]> {
    const fn with_spec(spec: &'static [Field]) -> [Field; 2] {
        [
            Field(1, "metadata", F::Msg(META)),
            Field(2, "spec", F::Msg(spec)),
        ]
    }
    static SSAR: [Field; 2] = with_spec(SSAR_SPEC);
    static SAR: [Field; 2] = with_spec(SAR_SPEC);
    static SSRR: [Field; 2] = with_spec(SSRR_SPEC);
    static SSR: [Field; 2] = with_spec(EMPTY);
    static TOKEN: [Field; 2] = with_spec(TOKEN_SPEC);
    static TOKEN_REVIEW: [Field; 2] = with_spec(TOKEN_REVIEW_SPEC);
    static NS: [Field; 2] = with_spec(NS_SPEC);
    static SA: [Field; 2] = [
        Field(1, "metadata", F::Msg(META)),
        Field(5, "automountServiceAccountToken", F::Bool),
    ];
    static CM: [Field; 4] = [
        Field(1, "metadata", F::Msg(META)),
        Field(2, "data", F::MapStr),
        Field(3, "binaryData", F::MapB64),
        Field(4, "immutable", F::Bool),
    ];
    static SECRET: [Field; 5] = [
        Field(1, "metadata", F::Msg(META)),
        Field(2, "data", F::MapB64),
        Field(3, "type", F::Str),
        Field(4, "stringData", F::MapStr),
        Field(5, "immutable", F::Bool),
    ];
    static ROLE: [Field; 2] = [
        Field(1, "metadata", F::Msg(META)),
        Field(2, "rules", F::RepMsg(RULE)),
    ];
    static BINDING: [Field; 3] = [
        Field(1, "metadata", F::Msg(META)),
        Field(2, "subjects", F::RepMsg(SUBJECT)),
        Field(3, "roleRef", F::Msg(ROLE_REF)),
    ];
    static DEPLOYMENT: [Field; 2] = with_spec(DEPLOYMENT_SPEC);
    static POD: [Field; 2] = with_spec(POD_SPEC);
    Some(match kind {
        "Deployment" => &DEPLOYMENT,
        "Pod" => &POD,
        "Role" | "ClusterRole" => &ROLE,
        "RoleBinding" | "ClusterRoleBinding" => &BINDING,
        "SelfSubjectAccessReview" => &SSAR,
        "SubjectAccessReview" => &SAR,
        "SelfSubjectRulesReview" => &SSRR,
        "SelfSubjectReview" => &SSR,
        "TokenRequest" => &TOKEN,
        "TokenReview" => &TOKEN_REVIEW,
        "Namespace" => &NS,
        "ServiceAccount" => &SA,
        "ConfigMap" => &CM,
        "Secret" => &SECRET,
        _ => return None,
    })
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<(u32, Wire<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let (num, wt) = ((key >> 3) as u32, key & 7);
        let w = match wt {
            0 => Wire::Varint(varint(b, &mut pos)?),
            2 => {
                let len = varint(b, &mut pos)? as usize;
                let s = b.get(pos..pos + len)?;
                pos += len;
                Wire::Bytes(s)
            }
            1 => {
                pos += 8;
                continue;
            }
            5 => {
                pos += 4;
                continue;
            }
            _ => return None,
        };
        out.push((num, w));
    }
    Some(out)
}

fn text(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

fn message(b: &[u8], schema: &[Field]) -> Option<Value> {
    let mut obj = Map::new();
    for (num, w) in fields(b)? {
        let Some(Field(_, name, f)) = schema.iter().find(|f| f.0 == num) else {
            continue;
        };
        let name = name.to_string();
        match (f, w) {
            (F::Str, Wire::Bytes(s)) if !s.is_empty() => {
                obj.insert(name, text(s));
            }
            (F::Int, Wire::Varint(v)) => {
                obj.insert(name, json!(v as i64));
            }
            (F::Bool, Wire::Varint(v)) => {
                obj.insert(name, json!(v != 0));
            }
            (F::Msg(sub), Wire::Bytes(s)) => {
                obj.insert(name, message(s, sub)?);
            }
            (F::RepMsg(sub), Wire::Bytes(s)) => {
                let item = message(s, sub)?;
                obj.entry(name)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()?
                    .push(item);
            }
            (F::RepStr, Wire::Bytes(s)) => {
                obj.entry(name)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()?
                    .push(text(s));
            }
            (F::MapStr | F::MapB64 | F::MapQuantity, Wire::Bytes(s)) => {
                let (mut k, mut v) = (Value::Null, json!(""));
                for (n, w) in fields(s)? {
                    if let Wire::Bytes(x) = w {
                        match (n, f) {
                            (1, _) => k = text(x),
                            (2, F::MapB64) => {
                                v = json!(base64::engine::general_purpose::STANDARD.encode(x))
                            }
                            (2, _) => v = text(x),
                            _ => {}
                        }
                    }
                }
                obj.entry(name)
                    .or_insert_with(|| json!({}))
                    .as_object_mut()?
                    .insert(k.as_str()?.to_string(), v);
            }
            _ => {}
        }
    }
    Some(Value::Object(obj))
}

/// Decodes a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("error decoding protobuf request body");
    let unknown = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (num, w) in fields(unknown).ok_or_else(bad)? {
        match (num, w) {
            (1, Wire::Bytes(tm)) => {
                for (n, w) in fields(tm).ok_or_else(bad)? {
                    if let Wire::Bytes(s) = w {
                        match n {
                            1 => api_version = String::from_utf8_lossy(s).into(),
                            2 => kind = String::from_utf8_lossy(s).into(),
                            _ => {}
                        }
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let schema = kind_fields(&kind).ok_or_else(|| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("vpa-sim does not decode protobuf {kind} bodies; send application/json"),
        )
    })?;
    let mut obj = message(raw, schema).ok_or_else(bad)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((num << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_a_self_subject_access_review() {
        let attrs = [field(1, b"ns"), field(2, b"list"), field(5, b"pods")].concat();
        let spec = field(1, &attrs);
        let raw = field(2, &spec);
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["kind"], "SelfSubjectAccessReview");
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "ns", "verb": "list", "resource": "pods"})
        );
    }

    #[test]
    fn decodes_maps_and_rejects_unknown_kinds() {
        let entry = [field(1, b"k"), field(2, b"v")].concat();
        let meta = [field(1, b"cm"), field(11, &entry)].concat();
        let raw = [field(1, &meta), field(2, &entry)].concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["metadata"], json!({"name": "cm", "labels": {"k": "v"}}));
        assert_eq!(v["data"], json!({"k": "v"}));
        let other = [
            b"k8s\0".to_vec(),
            field(1, &[field(1, b"apps/v1"), field(2, b"DaemonSet")].concat()),
        ]
        .concat();
        assert_eq!(decode(&other).unwrap_err().code, 415);
    }
}
