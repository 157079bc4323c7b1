//! Template functions: Go's builtins (and, or, not, len, index, slice, print*, comparisons) and
//! Docker's (json, split, join, title, lower, upper, pad, truncate), with Docker's header
//! variants that leave column titles unchanged.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::Arg;
use super::exec::{At, ExecError, R, State, Val, fail, truth};
use super::gofmt::{self, type_name};
use super::json::go_json;

const FUNCS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt",
    "ge", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

/// Functions Docker replaces with identity functions when rendering a table header.
const HEADER_IDENTITY: &[&str] = &["json", "split", "join", "title", "lower", "upper", "truncate"];

pub(super) fn is_defined(name: &str) -> bool {
    FUNCS.contains(&name)
}

/// Calls function `name` with argument nodes `args` and the piped value `last`.
pub(super) fn call<'t, 'a>(
    st: &mut State<'t, 'a>,
    dot: &Val<'a>,
    name: &str,
    name_pos: usize,
    at: At<'_>,
    args: &'t [Arg],
    last: Option<Val<'a>>,
) -> R<Val<'a>> {
    let count = args.len() + usize::from(last.is_some());
    if name == "and" || name == "or" {
        if count == 0 {
            return fail(
                name_pos,
                name,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            );
        }
        let mut result = Val::Missing;
        for a in args {
            result = st.eval_arg(dot, a)?;
            if truth(&result) == (name == "or") {
                return Ok(result);
            }
        }
        return Ok(last.unwrap_or(result));
    }
    let (min, variadic) = arity(name, st.header);
    if count < min || (!variadic && count != min) {
        let least = if variadic { "at least " } else { "" };
        return fail(
            name_pos,
            name,
            format!("wrong number of args for {name}: want {least}{min} got {count}"),
        );
    }
    let mut vals = Vec::with_capacity(count);
    let mut nodes = Vec::with_capacity(count);
    for a in args {
        vals.push(st.eval_arg(dot, a)?);
        nodes.push(Some(a));
    }
    if let Some(v) = last {
        vals.push(v);
        nodes.push(None);
    }
    let src = |i: usize| Src { node: nodes[i], at };
    let values: Vec<&Value> = vals.iter().map(Val::or_null).collect();
    if st.header && HEADER_IDENTITY.contains(&name) {
        return Ok(Val::owned(Value::String(
            string_arg(&vals[0], src(0))?.to_string(),
        )));
    }
    let calling = |msg: String| ExecError {
        pos: at.0,
        context: at.1.to_string(),
        msg: format!("error calling {name}: {msg}"),
    };
    let new = |v: Value| Ok(Val::owned(v));
    match name {
        "not" => new(Value::Bool(!truth(&vals[0]))),
        "len" => match values[0] {
            Value::String(s) => new(Value::from(s.len())),
            Value::Array(a) => new(Value::from(a.len())),
            Value::Object(m) => new(Value::from(m.len())),
            Value::Null if vals[0].value().is_none() => Err(calling(
                "reflect: call of reflect.Value.Type on zero Value".into(),
            )),
            Value::Null => Err(calling("len of nil pointer".into())),
            other => Err(calling(format!("len of type {}", type_name(other)))),
        },
        "index" => index(&vals[0], &values[1..]).map_err(calling),
        "slice" => slice(values[0], &values[1..]).map(Val::owned).map_err(calling),
        "print" => new(Value::String(gofmt::sprint(&cloned(&values)))),
        "println" => new(Value::String(gofmt::sprintln(&cloned(&values)))),
        "printf" => {
            let format = string_arg(&vals[0], src(0))?;
            new(Value::String(gofmt::sprintf(format, &cloned(&values[1..]))))
        }
        "eq" => {
            if values.len() < 2 {
                return Err(calling("missing argument for comparison".into()));
            }
            let mut any = false;
            for b in &values[1..] {
                any |= equal(values[0], b).map_err(calling)?;
            }
            new(Value::Bool(any))
        }
        "ne" => new(Value::Bool(!equal(values[0], values[1]).map_err(calling)?)),
        "lt" | "le" | "gt" | "ge" => {
            let ord = order(values[0], values[1]).map_err(calling)?;
            let r = match name {
                "lt" => ord == Ordering::Less,
                "le" => ord != Ordering::Greater,
                "gt" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            new(Value::Bool(r))
        }
        "json" => new(Value::String(go_json(values[0], false, None))),
        "split" => {
            let (s, sep) = (string_arg(&vals[0], src(0))?, string_arg(&vals[1], src(1))?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::String(p.to_string())).collect()
            };
            new(Value::Array(parts))
        }
        "join" => {
            let items = strings_arg(&vals[0], src(0))?;
            new(Value::String(items.join(string_arg(&vals[1], src(1))?)))
        }
        "title" => new(Value::String(title(string_arg(&vals[0], src(0))?))),
        "lower" => new(Value::String(map_chars(
            string_arg(&vals[0], src(0))?,
            char::to_lowercase,
        ))),
        "upper" => new(Value::String(map_chars(
            string_arg(&vals[0], src(0))?,
            char::to_uppercase,
        ))),
        "pad" => {
            let s = string_arg(&vals[0], src(0))?;
            let (pre, post) = (int_arg(&vals[1], src(1))?, int_arg(&vals[2], src(2))?);
            if s.is_empty() {
                return new(Value::String(String::new()));
            }
            let (Ok(pre), Ok(post)) = (usize::try_from(pre), usize::try_from(post)) else {
                return Err(calling("strings: negative Repeat count".into()));
            };
            new(Value::String(format!(
                "{}{s}{}",
                " ".repeat(pre),
                " ".repeat(post)
            )))
        }
        _ => {
            // truncate: Go slices bytes.
            let s = string_arg(&vals[0], src(0))?;
            let n = int_arg(&vals[1], src(1))?;
            let Ok(n) = usize::try_from(n) else {
                return Err(calling(format!(
                    "runtime error: slice bounds out of range [:{n}]"
                )));
            };
            if s.len() < n {
                return new(Value::String(s.to_string()));
            }
            new(Value::String(
                String::from_utf8_lossy(&s.as_bytes()[..n]).into_owned(),
            ))
        }
    }
}

/// Minimum argument count and whether more are accepted.
fn arity(name: &str, header: bool) -> (usize, bool) {
    match name {
        "not" | "len" | "json" | "title" | "lower" | "upper" => (1, false),
        "index" | "slice" | "printf" | "eq" => (1, true),
        "print" | "println" => (0, true),
        "pad" => (3, false),
        "split" | "join" | "truncate" if header => (2, false),
        _ => (2, false),
    }
}

fn cloned(values: &[&Value]) -> Vec<Value> {
    values.iter().map(|v| (*v).clone()).collect()
}

/// Where an argument came from: its node, or the piped value (reported at the command).
#[derive(Clone, Copy)]
struct Src<'x> {
    node: Option<&'x Arg>,
    at: At<'x>,
}

fn type_error<T>(src: Src<'_>, expected: &str, got: Option<&Value>) -> R<T> {
    let msg = match got {
        None => format!("invalid value; expected {expected}"),
        Some(v) => format!("wrong type for value; expected {expected}; got {}", type_name(v)),
    };
    match src.node {
        Some(n) if n.is_constant() => {
            let kind = if expected == "int" { "integer" } else { expected };
            fail(n.pos(), n, format!("expected {kind}; found {n}"))
        }
        Some(n) => fail(n.pos(), n, msg),
        None => fail(src.at.0, src.at.1, msg),
    }
}

fn string_arg<'v>(v: &'v Val<'_>, src: Src<'_>) -> R<&'v str> {
    match v.value() {
        Some(Value::String(s)) => Ok(s),
        other => type_error(src, "string", other),
    }
}

fn int_arg(v: &Val<'_>, src: Src<'_>) -> R<i64> {
    match v.value() {
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
        other => type_error(src, "int", other),
    }
}

/// A `[]string` argument; Docker's typed string slices arrive as arrays of strings.
fn strings_arg<'v>(v: &'v Val<'_>, src: Src<'_>) -> R<Vec<&'v str>> {
    match v.value() {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(items.iter().filter_map(Value::as_str).collect())
        }
        other => type_error(src, "[]string", other),
    }
}

/// Go's rune-by-rune case mapping (multi-rune expansions such as ß -> SS are not applied).
fn map_chars<I: Iterator<Item = char>>(s: &str, f: impl Fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut m = f(c);
            match (m.next(), m.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

/// Go's strings.Title: upper-cases letters that follow a separator.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_sep(prev) {
                map_chars(&c.to_string(), char::to_uppercase)
            } else {
                c.to_string()
            };
            prev = c;
            out
        })
        .collect()
}

fn index_int(v: &Value, len: usize) -> Result<usize, String> {
    let Value::Number(n) = v else {
        return Err(if v.is_null() {
            "cannot index slice/array with nil".into()
        } else {
            format!("cannot index slice/array with type {}", type_name(v))
        });
    };
    let Some(i) = n.as_i64().filter(|_| !n.is_f64()) else {
        return Err(format!("cannot index slice/array with type {}", type_name(v)));
    };
    usize::try_from(i)
        .ok()
        .filter(|&u| u <= len)
        .ok_or_else(|| format!("index out of range: {i}"))
}

const PAST_END: &str = "reflect: slice index out of range";

fn index<'a>(item: &Val<'a>, keys: &[&Value]) -> Result<Val<'a>, String> {
    let mut cur = item.clone();
    if matches!(cur.value(), None | Some(Value::Null)) {
        return Err("index of untyped nil".into());
    }
    for key in keys {
        cur = match cur.value() {
            Some(Value::Array(a)) => {
                let i = index_int(key, a.len())?;
                cur.child(Err(i)).ok_or(PAST_END)?
            }
            Some(Value::String(s)) => {
                let i = index_int(key, s.len())?;
                Val::owned(Value::from(*s.as_bytes().get(i).ok_or(PAST_END)?))
            }
            Some(Value::Object(_)) => match key {
                // A missing key gives the element type's zero value; Docker's maps hold strings.
                Value::String(k) => cur
                    .child(Ok(k))
                    .unwrap_or_else(|| Val::owned(Value::String(String::new()))),
                Value::Null => return Err("value is nil; should be of type string".into()),
                other => return Err(format!("value has type {}; should be string", type_name(other))),
            },
            Some(Value::Null) | None => return Err("index of nil pointer".into()),
            Some(other) => return Err(format!("can't index item of type {}", type_name(other))),
        };
    }
    Ok(cur)
}

fn slice(item: &Value, idx: &[&Value]) -> Result<Value, String> {
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Value::Null => return Err("slice of untyped nil".into()),
        Value::String(_) if idx.len() == 3 => return Err("cannot 3-index slice a string".into()),
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => return Err(format!("can't slice item of type {}", type_name(other))),
    };
    let mut bounds = [0, len];
    for (i, v) in idx.iter().take(2).enumerate() {
        bounds[i] = index_int(v, len)?;
    }
    if let Some(v) = idx.get(2) {
        index_int(v, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!("invalid slice index: {} > {}", bounds[0], bounds[1]));
    }
    Ok(match item {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned())
        }
        Value::Array(a) => Value::Array(a[bounds[0]..bounds[1]].to_vec()),
        _ => Value::Null,
    })
}

/// Numbers compare by value whatever their JSON representation.
fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    let int = |n: &serde_json::Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (int(a).filter(|_| !a.is_f64()), int(b).filter(|_| !b.is_f64())) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&b.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Null, Value::Null) => Ok(true),
        (Value::Null, _) | (_, Value::Null) => Ok(false),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y) == Ordering::Equal),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => Err(format!(
            "non-comparable type {}: {}",
            gofmt::to_v(b),
            type_name(b)
        )),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn order(a: &Value, b: &Value) -> Result<Ordering, String> {
    let basic = |v: &Value| matches!(v, Value::Number(_) | Value::String(_));
    if !basic(a) || !basic(b) {
        return Err("invalid type for comparison".into());
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Ok(num_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        _ => Err("incompatible types for comparison".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons() {
        assert_eq!(equal(&json!(1), &json!(1.0)), Ok(true));
        assert_eq!(equal(&json!("a"), &json!("a")), Ok(true));
        assert_eq!(equal(&json!("a"), &Value::Null), Ok(false));
        assert_eq!(
            equal(&json!("a"), &json!(1)),
            Err("incompatible types for comparison".into())
        );
        assert_eq!(order(&json!(2), &json!(10)), Ok(Ordering::Less));
        assert_eq!(order(&json!("b"), &json!("a")), Ok(Ordering::Greater));
        assert_eq!(
            order(&json!(true), &json!(false)),
            Err("invalid type for comparison".into())
        );
    }

    #[test]
    fn strings() {
        assert_eq!(title("hello wORLD foo_bar x-y"), "Hello WORLD Foo_bar X-Y");
        assert_eq!(map_chars("straße", char::to_uppercase), "STRAßE");
        assert_eq!(slice(&json!("hello"), &[&json!(1), &json!(3)]), Ok(json!("el")));
        assert_eq!(slice(&json!([1, 2, 3]), &[&json!(2)]), Ok(json!([3])));
        assert_eq!(
            slice(&json!("abc"), &[&json!(2), &json!(1)]),
            Err("invalid slice index: 2 > 1".into())
        );
    }
}
