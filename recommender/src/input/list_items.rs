//! Splits a Kubernetes list (`{"kind": ..., "items": [...]}`) arriving in chunks into the JSON
//! text of each item, so a 50k-pod PodMetrics list is decoded while it arrives instead of from
//! one buffer of the whole body (12.5 MiB, the recommender's peak; metrics-server does not
//! paginate). Only the bytes of the item in progress are kept. Pure.
//!
//! The splitter finds item boundaries only (strings, escapes, nesting); each item is then decoded
//! by serde, which reports malformed JSON inside it. The `items` key is matched as written; a key
//! spelled with escapes (`"\u0069tems"`) is not recognised.

/// Where the scan is, outside strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Before the list's opening brace.
    Start,
    /// In the list object, expecting a key (or its end).
    Key,
    /// In the list object, after a key and before its value starts.
    Value,
    /// Inside a value of the list object other than `items` (or after one).
    OtherValue,
    /// Inside the `items` array, between items.
    Items,
    /// Inside an item.
    Item,
    /// After the list's closing brace.
    End,
}

/// The state of one list being split.
#[derive(Debug)]
pub struct ListItems {
    place: Place,
    /// Nesting depth of objects and arrays, counting the list object as 1.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The key being read (at depth 1), and the last one read.
    key: Vec<u8>,
    reading_key: bool,
    /// The unconsumed bytes of the item in progress.
    item: Vec<u8>,
    /// Items handed out so far.
    count: usize,
    /// Something other than whitespace followed the list.
    trailing: bool,
}

impl Default for ListItems {
    fn default() -> Self {
        Self::new()
    }
}

impl ListItems {
    /// A splitter before the first byte of a list.
    pub fn new() -> Self {
        Self {
            place: Place::Start,
            depth: 0,
            in_string: false,
            escaped: false,
            key: Vec::new(),
            reading_key: false,
            item: Vec::new(),
            count: 0,
            trailing: false,
        }
    }

    /// Takes the next chunk of the body and hands `each` the JSON of every item it completes.
    pub fn push(&mut self, chunk: &[u8], mut each: impl FnMut(&[u8])) {
        for &b in chunk {
            if self.place == Place::End {
                self.trailing |= !b.is_ascii_whitespace();
                continue;
            }
            if self.place == Place::Item {
                self.item.push(b);
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.reading_key = false;
                } else if self.reading_key {
                    self.key.push(b);
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'"' => {
                    self.in_string = true;
                    match self.place {
                        Place::Key => {
                            self.key.clear();
                            self.reading_key = true;
                        }
                        Place::Value => self.place = Place::OtherValue,
                        Place::Items => self.start_item(b),
                        _ => {}
                    }
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    match self.place {
                        Place::Start if b == b'{' => self.place = Place::Key,
                        Place::Value if b == b'[' && self.key == b"items" => {
                            self.place = Place::Items
                        }
                        Place::Value => self.place = Place::OtherValue,
                        Place::Items => self.start_item(b),
                        _ => {}
                    }
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    match (self.place, self.depth) {
                        (Place::Item, 1) => {
                            // The `]` closing the items array ends the last item.
                            self.item.pop();
                            self.finish_item(&mut each);
                            self.place = Place::OtherValue;
                        }
                        (Place::Items, 1) => self.place = Place::OtherValue,
                        (_, 0) => self.place = Place::End,
                        _ => {}
                    }
                }
                b':' if self.depth == 1 && self.place == Place::Key => self.place = Place::Value,
                b',' => match (self.place, self.depth) {
                    (Place::Item, 2) => {
                        self.item.pop();
                        self.finish_item(&mut each);
                        self.place = Place::Items;
                    }
                    (_, 1) => self.place = Place::Key,
                    _ => {}
                },
                _ => match self.place {
                    Place::Value => self.place = Place::OtherValue,
                    Place::Items => self.start_item(b),
                    _ => {}
                },
            }
        }
    }

    fn start_item(&mut self, first: u8) {
        self.place = Place::Item;
        self.item.clear();
        self.item.push(first);
    }

    fn finish_item(&mut self, each: &mut impl FnMut(&[u8])) {
        let end = self
            .item
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        each(&self.item[..end]);
        self.item.clear();
        self.count += 1;
    }

    /// How many items were handed out, once the whole list has been pushed; an error when the
    /// body ended before the list did.
    pub fn finish(&self) -> Result<usize, String> {
        match self.place {
            Place::End if self.trailing => Err("unexpected data after the list".into()),
            Place::End => Ok(self.count),
            _ => Err(format!(
                "the list ended early, after {} complete items",
                self.count
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &[u8], chunk: usize) -> (Vec<String>, Result<usize, String>) {
        let mut items = Vec::new();
        let mut splitter = ListItems::new();
        for part in body.chunks(chunk.max(1)) {
            splitter.push(part, |item| {
                items.push(String::from_utf8(item.to_vec()).unwrap())
            });
        }
        (items, splitter.finish())
    }

    #[test]
    fn items_come_out_whole_whatever_the_chunk_size() {
        let body =
            br#"{"kind": "PodMetricsList", "metadata": {"items": [9], "note": "]}, \"items\": ["},
            "items": [ {"metadata": {"name": "a,}]"}, "containers": [{"name": "c"}]} ,
                {"metadata": {"name": "b\"\\"}, "list": [[1], {}]}, "text", 7, null ],
            "after": {"items": [8]}}"#;
        let expected = [
            r#"{"metadata": {"name": "a,}]"}, "containers": [{"name": "c"}]}"#,
            r#"{"metadata": {"name": "b\"\\"}, "list": [[1], {}]}"#,
            r#""text""#,
            "7",
            "null",
        ];
        for chunk in [1, 2, 3, 7, 64, body.len()] {
            let (items, done) = split(body, chunk);
            assert_eq!(items, expected, "chunks of {chunk}");
            assert_eq!(done, Ok(5));
        }
    }

    #[test]
    fn empty_null_and_missing_items_give_none() {
        for body in [
            &br#"{"items": []}"#[..],
            br#"{"items": null}"#,
            br#"{"kind": "List"}"#,
            br#"{}"#,
        ] {
            assert_eq!(split(body, 3), (vec![], Ok(0)), "{body:?}");
        }
    }

    #[test]
    fn a_cut_body_keeps_the_complete_items_and_says_so() {
        let body = br#"{"items": [{"a": 1}, {"b": 2}, {"c": "#;
        let (items, done) = split(body, 5);
        assert_eq!(items, [r#"{"a": 1}"#, r#"{"b": 2}"#]);
        assert_eq!(
            done,
            Err("the list ended early, after 2 complete items".into())
        );
    }

    #[test]
    fn agrees_with_decoding_the_whole_list_on_a_pod_metrics_list() {
        let items: Vec<String> = (0..50)
            .map(|i| {
                format!(
                    r#"{{"metadata": {{"name": "p{i}", "namespace": "ns"}}, "timestamp": "2026-01-01T00:00:00Z", "window": "30s", "containers": [{{"name": "c", "usage": {{"cpu": "{i}m", "memory": "{i}Mi"}}}}]}}"#
                )
            })
            .collect();
        let body = format!(
            r#"{{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{{}},"items":[{}]}}"#,
            items.join(",")
        );
        let whole: serde_json::Value = serde_json::from_str(&body).unwrap();
        let whole: Vec<&serde_json::Value> = whole["items"].as_array().unwrap().iter().collect();
        let mut split_up = Vec::new();
        let mut splitter = ListItems::new();
        for part in body.as_bytes().chunks(37) {
            splitter.push(part, |item| {
                split_up.push(serde_json::from_slice::<serde_json::Value>(item).unwrap())
            });
        }
        assert_eq!(splitter.finish(), Ok(50));
        assert_eq!(split_up.iter().collect::<Vec<_>>(), whole);
    }

    #[test]
    fn data_after_the_list_is_an_error() {
        assert_eq!(split(b"{\"items\": [1]}  \n", 4), (vec!["1".into()], Ok(1)));
        assert_eq!(
            split(br#"{"items": [1]} {"#, 4).1,
            Err("unexpected data after the list".into())
        );
    }
}
