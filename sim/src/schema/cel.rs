//! A small subset of CEL for CRD `x-kubernetes-validations` rules: `self.a.b` paths, `has()`,
//! `size()`, string/number/bool literals, `==`, `!=`, `<`, `<=`, `>`, `>=`, `!`, `&&`, `||` and
//! parentheses. A rule outside the subset evaluates to None and is not enforced. Pure.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(cs[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(
                cs[start..i].iter().collect::<String>().parse().ok()?,
            ));
        } else if c == '\'' || c == '"' {
            let end = cs[i + 1..].iter().position(|x| *x == c)? + i + 1;
            out.push(Tok::Str(cs[i + 1..end].iter().collect()));
            i = end + 1;
        } else {
            let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||"]
                .into_iter()
                .find(|o| *o == two);
            match op {
                Some(o) => {
                    out.push(Tok::Op(o));
                    i += 2;
                }
                None => {
                    out.push(Tok::Op(
                        ["(", ")", ".", "!", "<", ">", ","]
                            .into_iter()
                            .find(|o| o.starts_with(c))?,
                    ));
                    i += 1;
                }
            }
        }
    }
    Some(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    this: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Op(o)) if *o == op);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn or(&mut self) -> Option<Value> {
        let mut v = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            v = json!(v.as_bool()? || r.as_bool()?);
        }
        Some(v)
    }

    fn and(&mut self) -> Option<Value> {
        let mut v = self.cmp()?;
        while self.eat("&&") {
            let r = self.cmp()?;
            v = json!(v.as_bool()? && r.as_bool()?);
        }
        Some(v)
    }

    fn cmp(&mut self) -> Option<Value> {
        let l = self.unary()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let r = self.unary()?;
                return Some(json!(match op {
                    "==" => l == r || (l.as_f64().is_some() && l.as_f64() == r.as_f64()),
                    "!=" => !(l == r || (l.as_f64().is_some() && l.as_f64() == r.as_f64())),
                    _ => {
                        let (a, b) = (l.as_f64()?, r.as_f64()?);
                        match op {
                            "<=" => a <= b,
                            ">=" => a >= b,
                            "<" => a < b,
                            _ => a > b,
                        }
                    }
                }));
            }
        }
        Some(l)
    }

    fn unary(&mut self) -> Option<Value> {
        if self.eat("!") {
            return Some(json!(!self.unary()?.as_bool()?));
        }
        self.primary()
    }

    /// `self.a.b`: the value, or None (missing) inside Some.
    fn path(&mut self) -> Option<Option<Value>> {
        match self.peek()? {
            Tok::Ident(s) if s == "self" => self.pos += 1,
            _ => return None,
        }
        let mut cur = Some(self.this.clone());
        while self.eat(".") {
            let Tok::Ident(f) = self.peek()?.clone() else {
                return None;
            };
            self.pos += 1;
            cur = cur.and_then(|c| c.get(&f).cloned());
        }
        Some(cur)
    }

    fn primary(&mut self) -> Option<Value> {
        if self.eat("(") {
            let v = self.or()?;
            return self.eat(")").then_some(v);
        }
        match self.peek()?.clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Some(json!(s))
            }
            Tok::Num(n) => {
                self.pos += 1;
                Some(json!(n))
            }
            Tok::Ident(f) if f == "true" || f == "false" => {
                self.pos += 1;
                Some(json!(f == "true"))
            }
            Tok::Ident(f) if f == "has" || f == "size" => {
                self.pos += 1;
                if !self.eat("(") {
                    return None;
                }
                let v = self.path()?;
                if !self.eat(")") {
                    return None;
                }
                Some(if f == "has" {
                    json!(v.is_some())
                } else {
                    match v? {
                        Value::String(s) => json!(s.chars().count()),
                        Value::Array(a) => json!(a.len()),
                        Value::Object(m) => json!(m.len()),
                        _ => return None,
                    }
                })
            }
            Tok::Ident(_) => self.path()?,
            Tok::Op(_) => None,
        }
    }
}

/// Evaluates a rule against `this` (the value the rule sits on): Some(true/false), or None when
/// the rule is outside the supported subset or reads a missing field.
pub fn eval(rule: &str, this: &Value) -> Option<bool> {
    let mut p = Parser {
        toks: lex(rule)?,
        pos: 0,
        this,
    };
    let v = p.or()?;
    (p.pos == p.toks.len()).then_some(())?;
    v.as_bool()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_the_vpa_crd_rules() {
        let rule = "(self.type == 'Factor') == has(self.factor)";
        assert_eq!(
            eval(rule, &json!({"type": "Factor", "factor": 2})),
            Some(true)
        );
        assert_eq!(eval(rule, &json!({"type": "Factor"})), Some(false));
        assert_eq!(
            eval(rule, &json!({"type": "Quantity", "factor": 2})),
            Some(false)
        );
        assert_eq!(eval(rule, &json!({"type": "Quantity"})), Some(true));
    }

    #[test]
    fn operators_and_unsupported_rules() {
        let v = json!({"a": 3, "s": "abc", "l": [1, 2]});
        assert_eq!(
            eval("self.a >= 3 && size(self.s) == 3 || false", &v),
            Some(true)
        );
        assert_eq!(eval("!(size(self.l) < 2)", &v), Some(true));
        assert_eq!(eval("self.l.all(x, x > 0)", &v), None);
    }
}
