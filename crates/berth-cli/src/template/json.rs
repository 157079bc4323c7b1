//! JSON encoding byte-for-byte like Go's encoding/json: compact or indented, optional HTML
//! escaping of `<` `>` `&`, Go's float formatting, keys in the value's own order.

use serde_json::Value;

/// Encodes `value` as Go's encoding/json would. `escape_html` is json.Marshal's default (Docker's
/// `{{json}}` template function turns it off); `indent` gives json.MarshalIndent-style output
/// (Docker's `inspect` uses four spaces).
pub fn go_json(value: &Value, escape_html: bool, indent: Option<&str>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, escape_html, indent, 0);
    out
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_value(out: &mut String, v: &Value, html: bool, indent: Option<&str>, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => out.push_str(&json_float(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(out, s, html),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, html, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_string(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, item, html, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push('}');
        }
    }
}

/// Go's JSON string escaping (Go 1.22+: `\b` and `\f` get short escapes).
fn write_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's encoding/json float64 format: shortest digits, plain notation for 1e-6 <= |f| < 1e21,
/// exponent form otherwise with a two-digit minimum dropped (`1e-7`, `1e+21`).
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}e{sign}{digits}");
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_like_go() {
        let v = json!({"A": ["x", 1, 1.5, null, true], "B": {}, "C": [], "S": "a<b>&\"\\\n\u{1}\u{2028}"});
        assert_eq!(
            go_json(&v, false, None),
            r#"{"A":["x",1,1.5,null,true],"B":{},"C":[],"S":"a<b>&\"\\\n\u0001\u2028"}"#
        );
        assert_eq!(go_json(&json!("<a&b>"), true, None), r#""\u003ca\u0026b\u003e""#);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(json_float(3.0), "3");
        assert_eq!(json_float(0.00001), "0.00001");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(1.5e21), "1.5e+21");
        assert_eq!(json_float(-2.25), "-2.25");
        assert_eq!(json_float(123456789.0), "123456789");
    }

    #[test]
    fn indented_like_marshal_indent() {
        let v = json!({"Env": ["A=1"], "Labels": {}, "Name": "x"});
        assert_eq!(
            go_json(&v, true, Some("    ")),
            "{\n    \"Env\": [\n        \"A=1\"\n    ],\n    \"Labels\": {},\n    \"Name\": \"x\"\n}"
        );
    }
}
