//! What the store holds and publishes (pure data): objects with their serialized form, and the
//! events of committed changes.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::resource::GroupResource;

/// A stored object with its serialized form (so lists and watches copy bytes, not trees).
#[derive(Debug)]
pub struct StoredObject {
    /// The object.
    pub value: Value,
    /// `value` serialized as JSON.
    pub json: Bytes,
    /// Its resourceVersion.
    pub rv: u64,
}

impl StoredObject {
    pub(super) fn new(value: Value, rv: u64) -> Arc<Self> {
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Arc::new(StoredObject { value, json, rv })
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        meta_str(&self.value, "name")
    }

    /// `metadata.namespace` (empty when cluster-scoped).
    pub fn namespace(&self) -> &str {
        meta_str(&self.value, "namespace")
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        meta_str(&self.value, "uid")
    }
}

/// A string field of `metadata`, or "".
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct WatchEvent {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// Which resource changed.
    pub gr: GroupResource,
    /// What happened.
    pub type_: EventType,
    /// The object after the change (for deletes: its last state, at the delete's rv).
    pub object: Arc<StoredObject>,
    /// The object before the change.
    pub prev: Option<Arc<StoredObject>>,
}

/// A random RFC 4122 v4 uid.
pub fn new_uid() -> String {
    let b: [u8; 16] = std::array::from_fn(|i| match i {
        6 => (fastrand::u8(..) & 0x0f) | 0x40,
        8 => (fastrand::u8(..) & 0x3f) | 0x80,
        _ => fastrand::u8(..),
    });
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
