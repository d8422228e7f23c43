//! Decoding of request bodies: JSON (or YAML for apply) into a `Value`, and the list of
//! duplicated object keys that strict field validation rejects. Pure.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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
        path: String::new(),
        dups: &mut dups,
    }
    .deserialize(&mut de);
    dups
}

struct Walk<'a> {
    path: String,
    dups: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
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
        while seq
            .next_element_seed(Walk {
                path: format!("{}[{i}]", self.path),
                dups: self.dups,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                self.dups.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                dups: self.dups,
            })?;
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
    fn decodes_yaml_apply_bodies() {
        assert_eq!(decode_json(b"a: 1\nb: [x]\n").unwrap()["b"][0], "x");
        assert_eq!(decode_json(b"{").unwrap_err().code, 400);
    }
}
