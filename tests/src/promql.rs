//! Just enough PromQL lexing for test diagnostics (pure): which metric names an expression reads,
//! so a query that returns nothing can be blamed on the series that do not exist.

/// Words that are PromQL keywords, not metric names.
const KEYWORDS: [&str; 8] = [
    "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
];
/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names of the vector selectors in `expr`, in order of appearance, without repeats.
/// Function and aggregation names, keywords, label names, strings, durations and numbers are
/// skipped; selectors written only as `{__name__=...}` are not reported.
pub fn metric_names(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let skip_until = |i: usize, close: char| -> usize {
        let mut j = i + 1;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let c = chars[j];
            match quote {
                Some(_) if c == '\\' => j += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == close => return j + 1,
                None => {}
            }
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' || c == '{' || c == '[' {
            let close = match c {
                '{' => '}',
                '[' => ']',
                q => q,
            };
            i = if close == c {
                // A string: find its end, honouring escapes.
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                j + 1
            } else {
                skip_until(i, close)
            };
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // A number or a duration (`1e-9`, `0.5`, `5m`, `1h30m`).
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = (d == '-' || d == '+') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_alphanumeric() || d == '.' || d == '_' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let lower = word.to_ascii_lowercase();
            let next_word: String = chars[next..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_ascii_lowercase();
            let aggregation = next_word == "by" || next_word == "without";
            if LABEL_LISTS.contains(&lower.as_str()) {
                if chars.get(next) == Some(&'(') {
                    i = skip_until(next, ')');
                }
            } else if KEYWORDS.contains(&lower.as_str())
                || chars.get(next) == Some(&'(')
                || aggregation
            {
                // A keyword, a function call, or an aggregation with its grouping first.
            } else if !out.contains(&word) {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_selectors_only() {
        assert_eq!(
            metric_names(
                r#"histogram_quantile(0.5, sum by (le, resource) (rate(a_bucket{x="y(z)", w!~"q\"r"}[5m])))"#
            ),
            ["a_bucket"]
        );
        assert_eq!(
            metric_names(
                "sum by (namespace) (rate(c{status=\"error\"}[5m]))\n  / clamp_min(sum by (namespace) (rate(c[5m])), 1e-9) > 0.05"
            ),
            ["c"]
        );
        assert_eq!(
            metric_names(
                "max by (namespace) (time() - last_loop) > 300 and on (job) sum(b offset 5m) without (x) unless c:rec"
            ),
            ["last_loop", "b", "c:rec"]
        );
    }
}
