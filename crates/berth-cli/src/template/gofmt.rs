//! Go's fmt package applied to JSON values: `%v` rendering (`map[k:v]`, `[a b]`, `<nil>`, Go float
//! formatting) and the `print`, `println` and `printf` template functions.

use std::fmt::Write as _;

use serde_json::Value;

/// The Go type a JSON value stands for, as Go's error messages name it.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "interface {}",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(n) if n.is_u64() && n.as_i64().is_none() => "uint64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Appends `v` formatted with `%v`.
pub(super) fn write_v(out: &mut String, v: &Value) {
    write_verb(out, v, &Spec::plain('v'));
}

/// `%v` of a value as a new string.
pub(super) fn to_v(v: &Value) -> String {
    let mut s = String::new();
    write_v(&mut s, v);
    s
}

/// Go's fmt.Sprint: spaces between operands when neither side is a string.
pub(super) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_v(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// Go's fmt.Sprintln: operands separated by spaces, then a newline.
pub(super) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(&mut out, a);
    }
    out.push('\n');
    out
}

/// One parsed `%…` directive.
#[derive(Default)]
struct Spec {
    verb: char,
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn plain(verb: char) -> Spec {
        Spec {
            verb,
            ..Spec::default()
        }
    }
}

/// Go's fmt.Sprintf for the verbs templates use (`v s d q t f e g x X o b c U %`).
pub(super) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        spec.width = read_num(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(read_num(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if verb == 'T' {
            let name =
                args.get(next).map_or(
                    "%!T(MISSING)",
                    |a| if a.is_null() { "<nil>" } else { type_name(a) },
                );
            pad(&mut out, name, &spec, false);
            next += 1;
            continue;
        }
        match args.get(next) {
            Some(arg) => {
                let mut s = String::new();
                write_verb(&mut s, arg, &spec);
                pad(&mut out, &s, &spec, arg.is_number());
            }
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
        next += 1;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_null() {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", type_name(a));
                write_v(&mut out, a);
            }
        }
        out.push(')');
    }
    out
}

fn read_num(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

fn pad(out: &mut String, s: &str, spec: &Spec, numeric: bool) {
    let len = s.chars().count();
    let Some(width) = spec.width.filter(|&w| w > len) else {
        out.push_str(s);
        return;
    };
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) if numeric => (Some(c), &s[1..]),
            _ => (None, s),
        };
        out.extend(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    if v.is_null() {
        let _ = write!(out, "%!{verb}(<nil>)");
        return;
    }
    let _ = write!(out, "%!{verb}({}=", type_name(v));
    write_v(out, v);
    out.push(')');
}

fn write_verb(out: &mut String, v: &Value, spec: &Spec) {
    let verb = spec.verb;
    match v {
        Value::Null if verb == 'v' => out.push_str("<nil>"),
        Value::Null => bad_verb(out, v, verb),
        Value::Bool(b) if matches!(verb, 'v' | 't') => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => match verb {
            'v' | 's' => match spec.prec {
                Some(p) => out.extend(s.chars().take(p)),
                None => out.push_str(s),
            },
            'q' => out.push_str(&go_quote(s)),
            'x' => s.bytes().for_each(|b| {
                let _ = write!(out, "{b:02x}");
            }),
            'X' => s.bytes().for_each(|b| {
                let _ = write!(out, "{b:02X}");
            }),
            _ => bad_verb(out, v, verb),
        },
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if !n.is_f64() => write_int(out, i128::from(i), v, spec),
            (_, Some(u)) if !n.is_f64() => write_int(out, i128::from(u), v, spec),
            _ => write_float(out, n.as_f64().unwrap_or(0.0), v, spec),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_verb(out, item, spec);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_verb(out, &Value::String(k.clone()), spec);
                out.push(':');
                write_verb(out, &map[k], spec);
            }
            out.push(']');
        }
        Value::Bool(_) => bad_verb(out, v, verb),
    }
}

fn sign(out: &mut String, negative: bool, spec: &Spec) {
    if negative {
        out.push('-');
    } else if spec.plus {
        out.push('+');
    } else if spec.space {
        out.push(' ');
    }
}

fn write_int(out: &mut String, i: i128, v: &Value, spec: &Spec) {
    let a = i.unsigned_abs();
    let digits = match spec.verb {
        'v' | 'd' => a.to_string(),
        'x' => format!("{a:x}"),
        'X' => format!("{a:X}"),
        'o' => format!("{a:o}"),
        'b' => format!("{a:b}"),
        'c' => {
            out.extend(u32::try_from(i).ok().and_then(char::from_u32));
            return;
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let quoted = go_quote(&c.to_string());
            let _ = write!(
                out,
                "'{}'",
                quoted[1..quoted.len() - 1]
                    .replace("\\\"", "\"")
                    .replace('\'', "\\'")
            );
            return;
        }
        'U' => {
            let _ = write!(out, "U+{a:04X}");
            return;
        }
        _ => return bad_verb(out, v, spec.verb),
    };
    sign(out, i < 0, spec);
    out.push_str(&digits);
}

fn write_float(out: &mut String, f: f64, v: &Value, spec: &Spec) {
    let body = match spec.verb {
        'v' | 'g' | 'G' => format_g(f.abs(), spec.prec),
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
        'e' | 'E' => format_e(f.abs(), spec.prec.unwrap_or(6)),
        _ => return bad_verb(out, v, spec.verb),
    };
    sign(out, f.is_sign_negative(), spec);
    if matches!(spec.verb, 'E' | 'G') {
        out.push_str(&body.to_uppercase());
    } else {
        out.push_str(&body);
    }
}

/// Splits Rust's `{:e}` output into mantissa and exponent.
fn split_exp(s: &str) -> (&str, i32) {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    (m, e.parse().unwrap_or(0))
}

fn go_exp(mantissa: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// `%e` with `prec` digits after the point.
fn format_e(f: f64, prec: usize) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = split_exp(&s);
    go_exp(m, e)
}

/// `%g`/`%v`: shortest (or `prec` significant digits), exponent form when the exponent is
/// below -4 or at least the precision (6 for the shortest form).
fn format_g(f: f64, prec: Option<usize>) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let sci = match prec {
        None => format!("{f:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
    };
    let (m, exp) = split_exp(&sci);
    let m = if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.')
    } else {
        m
    };
    let digits: String = m.chars().filter(char::is_ascii_digit).collect();
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1);
            let nd = digits.len() as i32;
            if p as i32 > nd && nd > exp { nd as usize } else { p }
        }
    };
    if exp < -4 || exp >= eprec as i32 {
        return go_exp(m, exp);
    }
    // Plain notation with exactly the significant digits.
    let dp = exp + 1;
    if dp <= 0 {
        format!("0.{}{}", "0".repeat(dp.unsigned_abs() as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// Go's strconv.Quote.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if c == ' ' || !(c.is_control() || c.is_whitespace() || is_format_char(c)) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_format_char(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v_formatting_like_go() {
        assert_eq!(to_v(&json!(1000000.0)), "1e+06");
        assert_eq!(to_v(&json!(1000000)), "1000000");
        assert_eq!(to_v(&json!(12345678901.0)), "1.2345678901e+10");
        assert_eq!(to_v(&json!(0.00001)), "1e-05");
        assert_eq!(to_v(&json!(0.0001)), "0.0001");
        assert_eq!(to_v(&json!(123456.7)), "123456.7");
        assert_eq!(to_v(&json!(-1.5)), "-1.5");
        assert_eq!(
            to_v(&json!({"b": 2, "a": [1, "x", null]})),
            "map[a:[1 x <nil>] b:2]"
        );
        assert_eq!(to_v(&json!([])), "[]");
    }

    #[test]
    fn printf_verbs() {
        let args = [
            json!(1000000.0),
            json!("a<b>&c"),
            json!(["x", "y"]),
            json!(true),
            json!(1.5),
        ];
        assert_eq!(
            sprintf(
                "%d|%s|%v|%q|%5.2f|%x|%-4s|%t",
                &[
                    args[0].clone(),
                    args[1].clone(),
                    args[2].clone(),
                    args[1].clone(),
                    args[4].clone(),
                    args[1].clone(),
                    args[3].clone(),
                    args[3].clone()
                ]
            ),
            "%!d(float64=1e+06)|a<b>&c|[x y]|\"a<b>&c\"| 1.50|613c623e2663|%!s(bool=true)|true"
        );
        assert_eq!(sprintf("%d %s", &[json!("abc")]), "%!d(string=abc) %!s(MISSING)");
        assert_eq!(
            sprintf("%s", &[json!("a"), json!(2), Value::Null]),
            "a%!(EXTRA int=2, <nil>)"
        );
        assert_eq!(
            sprintf(
                "%05d|%+d|%x|%c|%U|%%",
                &[json!(-42), json!(7), json!(255), json!(65), json!(65)]
            ),
            "-0042|+7|ff|A|U+0041|%"
        );
        assert_eq!(
            sprintf(
                "%e|%.3g|%g|%.2s",
                &[json!(1.5), json!(1234.5678), json!(1e21), json!("hello")]
            ),
            "1.500000e+00|1.23e+03|1e+21|he"
        );
        assert_eq!(sprintf("%v %d", &[Value::Null, Value::Null]), "<nil> %!d(<nil>)");
        assert_eq!(sprintf("%q", &[json!(["a", "b"])]), r#"["a" "b"]"#);
        assert_eq!(sprintf("%q", &[json!(97)]), "'a'");
        assert_eq!(
            sprintf("%T %T %T", &[json!("s"), json!(1.5), Value::Null]),
            "string float64 <nil>"
        );
    }

    #[test]
    fn print_and_println_spacing() {
        assert_eq!(sprint(&[json!("a"), json!(1), json!(2), json!("b")]), "a1 2b");
        assert_eq!(sprintln(&[json!("a"), json!(1)]), "a 1\n");
        assert_eq!(go_quote("tab\there \u{1} é"), r#""tab\there \x01 é""#);
    }
}
