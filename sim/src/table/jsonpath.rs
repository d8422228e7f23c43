//! The small Kubernetes JSONPath of CRD printer columns (pure): fields, indexes, `[*]` and
//! `[?(@.field=='value')]` filters.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Index(usize),
    Wildcard,
    Filter(Vec<String>, bool, Value),
}

fn parse_path(path: &str) -> Vec<Seg> {
    let p = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    let mut segs = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                segs.push(Seg::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            let inner = &r[..end];
            rest = &r[end + 1..];
            if inner == "*" {
                segs.push(Seg::Wildcard);
            } else if let Ok(i) = inner.parse() {
                segs.push(Seg::Index(i));
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                let (lhs, eq, rhs) = match f.split_once("==") {
                    Some((l, r)) => (l, true, r),
                    None => match f.split_once("!=") {
                        Some((l, r)) => (l, false, r),
                        None => continue,
                    },
                };
                let field: Vec<String> = lhs
                    .trim()
                    .trim_start_matches('@')
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                let rhs = rhs.trim();
                let lit = if let Some(s) = rhs.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                {
                    json!(s)
                } else if let Some(s) = rhs.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    json!(s)
                } else {
                    serde_json::from_str(rhs).unwrap_or(json!(rhs))
                };
                segs.push(Seg::Filter(field, eq, lit));
            } else {
                segs.push(Seg::Field(inner.trim_matches(['\'', '"']).to_string()));
            }
        } else {
            break;
        }
    }
    segs
}

/// Evaluates a Kubernetes JSONPath (`.a.b[0]`, `[*]`, `[?(@.type=='X')]`) and returns the matches.
pub fn jsonpath<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![v];
    for seg in parse_path(path) {
        let mut next = Vec::new();
        for c in cur {
            match &seg {
                Seg::Field(f) => next.extend(c.get(f.as_str())),
                Seg::Index(i) => next.extend(c.get(*i)),
                Seg::Wildcard => match c {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Seg::Filter(field, eq, lit) => {
                    for item in c.as_array().into_iter().flatten() {
                        let mut x = Some(item);
                        for f in field {
                            x = x.and_then(|x| x.get(f.as_str()));
                        }
                        if (x == Some(lit)) == *eq {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_fields_indexes_and_filters() {
        let v = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "RecommendationProvided", "status": "True"}],
            "recommendation": {"containerRecommendations": [{"target": {"cpu": "587m"}}]}}});
        assert_eq!(
            jsonpath(
                &v,
                ".status.conditions[?(@.type=='RecommendationProvided')].status"
            ),
            [&json!("True")]
        );
        assert_eq!(
            jsonpath(
                &v,
                ".status.recommendation.containerRecommendations[0].target.cpu"
            ),
            [&json!("587m")]
        );
        assert_eq!(jsonpath(&v, "{.status.conditions[*].type}").len(), 2);
        assert!(jsonpath(&v, ".spec.missing").is_empty());
    }
}
