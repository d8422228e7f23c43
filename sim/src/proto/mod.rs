//! Decoding of the Kubernetes protobuf request bodies that kubectl's typed clients send
//! (`application/vnd.kubernetes.protobuf`: `k8s\0` + runtime.Unknown), for the kinds those
//! commands create: access and self-subject reviews (`kubectl auth can-i/whoami`), token requests
//! (`kubectl create token`), RBAC objects, namespaces, service accounts, config maps, secrets, and
//! the common fields of deployments and pods (`kubectl create deployment`, `kubectl run`), and leases
//! (client-go's typed clients write them in protobuf: upstream VPA's admission controller status and
//! leader election). Other kinds get 415 so the caller knows to send JSON. The field tables are in
//! [`messages`], the wire format in `wire`. Pure.

use serde_json::{Value, json};

use crate::error::ApiError;
use wire::{Wire, fields, message};

pub(crate) mod messages;
mod wire;

/// The protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

#[derive(Debug, Clone, Copy)]
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
    /// `metav1.MicroTime` (seconds and nanos), written as RFC 3339 with microseconds.
    MicroTime,
}

/// One field of a message: number, JSON name, wire form.
#[derive(Debug)]
pub struct Field(u32, &'static str, F);

/// Decodes a protobuf request body into the JSON object it stands for, with the field table
/// `fields_of` gives for its kind (415 without one).
pub fn decode(
    body: &[u8],
    fields_of: impl Fn(&str) -> Option<&'static [Field]>,
) -> Result<Value, ApiError> {
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
    let schema = fields_of(&kind).ok_or_else(|| {
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
    use crate::resource::Registry;

    /// Decodes with the built-in table's field tables.
    fn decode(body: &[u8]) -> Result<Value, ApiError> {
        super::decode(body, |kind| Registry::builtin().proto_fields(kind))
    }

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

    fn varint_field(num: u32, mut v: u64) -> Vec<u8> {
        let mut out = vec![(num << 3) as u8];
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    #[test]
    fn decodes_a_lease_with_micro_times() {
        // What client-go's typed Leases().Update sends (upstream VPA's admission controller status).
        let renew = [varint_field(1, 1_764_786_000), varint_field(2, 123_456_000)].concat();
        let spec = [
            field(1, b"vm"),
            varint_field(2, 40),
            field(4, &renew),
            varint_field(5, 3),
        ]
        .concat();
        let meta = [
            field(1, b"vpa-admission-controller"),
            field(3, b"kube-system"),
            field(6, b"42"),
        ]
        .concat();
        let raw = [field(1, &meta), field(2, &spec)].concat();
        let type_meta = [field(1, b"coordination.k8s.io/v1"), field(2, b"Lease")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["kind"], "Lease");
        assert_eq!(v["metadata"]["resourceVersion"], "42");
        assert_eq!(
            v["spec"],
            json!({"holderIdentity": "vm", "leaseDurationSeconds": 40,
                "renewTime": "2025-12-03T18:20:00.123456Z", "leaseTransitions": 3})
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
