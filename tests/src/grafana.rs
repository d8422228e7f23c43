//! Reading a Grafana dashboard the way Grafana runs it (pure): every panel query, with template
//! variables replaced by the text Grafana would send to Prometheus.

use std::collections::BTreeMap;

use serde_json::Value;

/// One query of one panel.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelQuery {
    /// The panel's `id`.
    pub panel_id: i64,
    /// The panel's title.
    pub title: String,
    /// The target's `refId` (`A`, `B`, ...).
    pub ref_id: String,
    /// The PromQL as written in the dashboard (variables not substituted).
    pub expr: String,
}

impl std::fmt::Display for PanelQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "panel {} \"{}\" query {}",
            self.panel_id, self.title, self.ref_id
        )
    }
}

/// Every Prometheus query of every panel, including panels nested in (collapsed) rows, in
/// dashboard order. Targets without an `expr` (or hidden ones) are left out.
pub fn panel_queries(dashboard: &Value) -> Vec<PanelQuery> {
    fn walk(panels: &Value, out: &mut Vec<PanelQuery>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let Some(expr) = target["expr"].as_str() else {
                    continue;
                };
                if target["hide"].as_bool() == Some(true) {
                    continue;
                }
                out.push(PanelQuery {
                    panel_id: panel["id"].as_i64().unwrap_or(-1),
                    title: panel["title"].as_str().unwrap_or_default().to_string(),
                    ref_id: target["refId"].as_str().unwrap_or_default().to_string(),
                    expr: expr.to_string(),
                });
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The names of the dashboard's template variables.
pub fn variable_names(dashboard: &Value) -> Vec<String> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect()
}

/// The `allValue` of a variable (what "All" sends), when the dashboard sets one.
pub fn all_value(dashboard: &Value, name: &str) -> Option<String> {
    dashboard["templating"]["list"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)?["allValue"]
        .as_str()
        .map(str::to_string)
}

/// Grafana's value of a multi-value variable in a regex matcher: the values regex-escaped, one
/// as is, several as `(a|b)`.
pub fn regex_value(values: &[&str]) -> String {
    let escaped: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
    match escaped.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join("|")),
    }
}

fn regex_escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` by `vars[name]`, longest names
/// first so `$__rate_interval` is not read as `$__rate` (the format is ignored: callers pass the
/// already formatted value). Unknown variables are left as they are.
pub fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    'outer: while !rest.is_empty() {
        for name in &names {
            let value = &vars[*name];
            let braced = format!("${{{name}}}");
            let formatted = format!("${{{name}:");
            let bracketed = format!("[[{name}]]");
            for spelling in [&braced, &bracketed] {
                if rest.starts_with(spelling.as_str()) {
                    out.push_str(value);
                    rest = &rest[spelling.len()..];
                    continue 'outer;
                }
            }
            if rest.starts_with(&formatted)
                && let Some(end) = rest.find('}')
            {
                out.push_str(value);
                rest = &rest[end + 1..];
                continue 'outer;
            }
            let bare = format!("${name}");
            let boundary = rest[bare.len().min(rest.len())..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            if rest.starts_with(&bare) && boundary {
                out.push_str(value);
                rest = &rest[bare.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Grafana's built-in interval variables for a dashboard refreshed against a Prometheus that
/// scrapes every `scrape_interval`: `$__interval` is the step (`step`), `$__rate_interval` is
/// `rate_interval`, `$__range` the time range.
pub fn builtin_variables(step: &str, rate_interval: &str, range: &str) -> BTreeMap<String, String> {
    let seconds = |d: &str| crate::prometheus::duration_seconds(d).to_string();
    [
        ("__interval", step.to_string()),
        (
            "__interval_ms",
            (seconds(step).parse::<f64>().unwrap_or(0.0) * 1000.0).to_string(),
        ),
        ("__rate_interval", rate_interval.to_string()),
        ("__range", range.to_string()),
        ("__range_s", seconds(range)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_every_spelling_and_longest_name_first() {
        let v = vars(&[
            ("namespace", ".*"),
            ("__rate_interval", "1m"),
            ("__rate", "WRONG"),
        ]);
        assert_eq!(
            substitute(
                r#"rate(x{namespace=~"$namespace", a=~"${namespace}", b=~"${namespace:regex}", c=~"[[namespace]]"}[$__rate_interval])"#,
                &v
            ),
            r#"rate(x{namespace=~".*", a=~".*", b=~".*", c=~".*"}[1m])"#
        );
        assert_eq!(substitute("$namespaces $other", &v), "$namespaces $other");
    }

    #[test]
    fn regex_values_like_grafana() {
        assert_eq!(regex_value(&["default"]), "default");
        assert_eq!(regex_value(&["a.b", "c"]), r"(a\.b|c)");
    }

    #[test]
    fn finds_queries_in_nested_rows() {
        let d = serde_json::json!({"panels": [
            {"id": 1, "title": "t", "targets": [{"refId": "A", "expr": "up"}, {"refId": "B", "expr": "x", "hide": true}]},
            {"id": 2, "type": "row", "panels": [{"id": 3, "title": "u", "targets": [{"refId": "A", "expr": "y"}]}]},
        ]});
        let q = panel_queries(&d);
        assert_eq!(
            q.iter()
                .map(|q| (q.panel_id, q.expr.as_str()))
                .collect::<Vec<_>>(),
            [(1, "up"), (3, "y")]
        );
    }

    #[test]
    fn builtin_intervals() {
        let v = builtin_variables("2s", "1m", "5m");
        assert_eq!(v["__interval_ms"], "2000");
        assert_eq!(v["__range_s"], "300");
    }
}
