//! A Kubernetes list body, cut into chunks at fuzzer-chosen points (see
//! `vpa_fuzz::cuts_and_body`), through the recommender's PodMetrics list splitter. Checks: the
//! items and the outcome are the same whatever the chunking (whole, chunked, byte by byte); and
//! on a body that is valid JSON whose `items` key is written plainly and once, the items are
//! exactly the elements of the `items` array. Each item is then decoded as a PodMetrics and
//! turned into usage samples, as the recommender does.

#![no_main]

use std::borrow::Cow;
use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use vpa_recommender::input::list_items::ListItems;
use vpa_recommender::input::metrics::{PodMetrics, usage_samples};

fn split<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Vec<u8>>, Result<usize, String>) {
    let mut items = Vec::new();
    let mut splitter = ListItems::new();
    for chunk in chunks {
        splitter.push(chunk, |item| items.push(item.to_vec()));
    }
    (items, splitter.finish())
}

/// What serde_json makes of the list: the `items` elements (none when `items` is missing or not
/// an array), or `None` when the splitter's documented limits apply (`items` spelled with
/// escapes, or given twice) or the body is not a JSON object.
struct ListOracle;

impl<'de> Visitor<'de> for ListOracle {
    type Value = Option<Vec<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut items = None;
        let mut comparable = true;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let escaped = matches!(key, Cow::Owned(_));
            if key == "items" {
                if escaped || items.is_some() {
                    comparable = false;
                }
                items = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let elements = match items {
            Some(Value::Array(v)) => v,
            _ => Vec::new(),
        };
        Ok(comparable.then_some(elements))
    }
}

fn oracle(body: &[u8]) -> Option<Vec<Value>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let out = (&mut de).deserialize_any(ListOracle).ok().flatten()?;
    de.end().ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let (cuts, body) = vpa_fuzz::cuts_and_body(data);
    let whole = split([body]);
    let chunked = split(vpa_fuzz::chunks(body, &cuts));
    assert_eq!(chunked, whole, "chunks at {cuts:?} changed the items");
    let bytes = split(body.chunks(1));
    assert_eq!(bytes, whole, "byte-by-byte pushing changed the items");

    for item in &whole.0 {
        if let Ok(metrics) = serde_json::from_slice::<PodMetrics>(item) {
            let _ = usage_samples(&metrics);
        }
    }
    if let Some(expected) = oracle(body) {
        let (items, done) = whole;
        assert_eq!(done, Ok(expected.len()), "a valid list did not end cleanly");
        let got: Vec<Value> = items
            .iter()
            .map(|i| serde_json::from_slice(i).expect("an item of a valid list is valid JSON"))
            .collect();
        assert_eq!(got, expected);
    }
});
