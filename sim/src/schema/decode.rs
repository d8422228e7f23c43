//! Decoding of request bodies: JSON (or YAML for apply) into a `Value`, and the list of
//! duplicated object keys that strict field validation rejects. Pure.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::path::Path;
use crate::error::ApiError;

/// Parses a JSON body; a non-JSON body is tried as YAML (apply bodies may be YAML).
pub fn decode_json(body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(e) => match std::str::from_utf8(body)
            .ok()
            .and_then(|s| serde_saphyr::from_str::<Value>(s).ok())
        {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(ApiError::bad_request(format!(
                "error decoding request body: {e}"
            ))),
        },
    }
}

/// Field paths (`spec.replicas`) that occur more than once in a JSON body.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    let mut dups = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = Walk {
        path: &Path::Root,
        dups: &mut dups,
    }
    .deserialize(&mut de);
    dups
}

/// Visits a value, recording the paths of repeated keys below `path`.
struct Walk<'p, 'd> {
    path: &'p Path<'p>,
    dups: &'d mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the body unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Keys of one object: a list while small (most objects), a set beyond.
const LINEAR_KEYS: usize = 32;

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let path = Path::Index(self.path, i);
            let item = Walk {
                path: &path,
                dups: &mut *self.dups,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        let mut many: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let path = Path::Field(self.path, &key);
            let repeated = if many.is_empty() && seen.len() < LINEAR_KEYS {
                seen.contains(&key)
            } else {
                many.extend(seen.drain(..));
                many.contains(&key)
            };
            if repeated {
                self.dups.push(path.to_string());
            }
            map.next_value_seed(Walk {
                path: &path,
                dups: &mut *self.dups,
            })?;
            if !repeated {
                if many.is_empty() {
                    seen.push(key);
                } else {
                    many.insert(key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicate_keys_with_paths() {
        let body =
            br#"{"spec": {"replicas": 1, "replicas": 2, "list": [{"a": 1, "a": 2}]}, "kind": "x"}"#;
        assert_eq!(duplicate_fields(body), ["spec.replicas", "spec.list[0].a"]);
        assert!(duplicate_fields(br#"{"a": {"b": 1}, "b": 2}"#).is_empty());
    }

    #[test]
    fn finds_duplicates_in_large_objects_and_escaped_keys() {
        let mut keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\": {i}")).collect();
        keys.push(r#""k3": 0"#.into());
        keys.push(r#""k99": 0"#.into());
        keys.push(r#""k\u0031": 0, "k1": 1"#.into());
        let body = format!(r#"{{"weights": {{{}}}}}"#, keys.join(", "));
        assert_eq!(
            duplicate_fields(body.as_bytes()),
            ["weights.k3", "weights.k99", "weights.k1", "weights.k1"]
        );
    }

    #[test]
    fn decodes_yaml_apply_bodies() {
        assert_eq!(decode_json(b"a: 1\nb: [x]\n").unwrap()["b"][0], "x");
        assert_eq!(decode_json(b"{").unwrap_err().code, 400);
    }
}
