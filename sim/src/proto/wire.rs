//! The protobuf wire format, as far as the request bodies need it (pure): varints, tagged
//! fields, and a message decoded into JSON after a field table.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{F, Field};

pub(super) enum Wire<'a> {
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

pub(super) fn fields(b: &[u8]) -> Option<Vec<(u32, Wire<'_>)>> {
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

/// A `metav1.MicroTime` message as its JSON form, `2006-01-02T15:04:05.000000Z`.
fn micro_time(b: &[u8]) -> Option<Value> {
    let (mut seconds, mut nanos) = (0i64, 0u32);
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Varint(v)) => seconds = v as i64,
            (2, Wire::Varint(v)) => nanos = v as u32,
            _ => {}
        }
    }
    let t = chrono::DateTime::from_timestamp(seconds, nanos)?;
    Some(json!(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
}

pub(super) fn message(b: &[u8], schema: &[Field]) -> Option<Value> {
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
            (F::MicroTime, Wire::Bytes(s)) => {
                obj.insert(name, micro_time(s)?);
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
