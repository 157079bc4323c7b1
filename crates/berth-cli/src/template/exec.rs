//! Executor: walks the parse tree against a JSON value with Go's semantics for fields,
//! variables, truthiness, `if`/`with`/`range` and printing.

use std::rc::Rc;

use serde_json::Value;

use super::MissingKey;
use super::ast::{Arg, Branch, Cmd, Node, Pipe};
use super::funcs;
use super::gofmt;

/// A value during execution: Go's invalid value (`Missing`), a borrowed part of the data, or a
/// value computed by a function.
#[derive(Clone, Debug)]
pub(super) enum Val<'a> {
    Missing,
    Ref(&'a Value),
    Own(Rc<Value>),
}

static NULL: Value = Value::Null;

impl<'a> Val<'a> {
    pub fn owned(v: Value) -> Val<'a> {
        Val::Own(Rc::new(v))
    }

    pub fn value(&self) -> Option<&Value> {
        match self {
            Val::Missing => None,
            Val::Ref(v) => Some(v),
            Val::Own(v) => Some(v),
        }
    }

    /// The value as an `interface{}` argument: missing becomes nil.
    pub fn or_null(&self) -> &Value {
        self.value().unwrap_or(&NULL)
    }

    /// Child of an object or array, sharing the data when borrowed.
    pub fn child(&self, key: Result<&str, usize>) -> Option<Val<'a>> {
        fn pick<'v>(v: &'v Value, key: Result<&str, usize>) -> Option<&'v Value> {
            match key {
                Ok(k) => v.as_object()?.get(k),
                Err(i) => v.as_array()?.get(i),
            }
        }
        match self {
            Val::Missing => None,
            Val::Ref(v) => pick(v, key).map(Val::Ref),
            Val::Own(v) => pick(v, key).map(|c| Val::owned(c.clone())),
        }
    }
}

/// Go's truthiness: false, 0, nil and empty strings, arrays and maps are false.
pub(super) fn truth(v: &Val<'_>) -> bool {
    match v.value() {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// An execution error before its location is rendered.
#[derive(Debug)]
pub(super) struct ExecError {
    pub pos: usize,
    pub context: String,
    pub msg: String,
}

pub(super) type R<T> = Result<T, ExecError>;

pub(super) fn fail<T>(pos: usize, context: impl ToString, msg: impl Into<String>) -> R<T> {
    Err(ExecError {
        pos,
        context: context.to_string(),
        msg: msg.into(),
    })
}

#[derive(PartialEq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct State<'t, 'a> {
    vars: Vec<(&'t str, Val<'a>)>,
    /// Docker's header pass: string functions return their argument unchanged.
    pub header: bool,
    missing: &'t MissingKey,
}

/// Where an error is reported: a position and the node text shown in `at <…>`.
pub(super) type At<'x> = (usize, &'x dyn std::fmt::Display);

/// Go reports field errors after a parenthesised pipeline at that pipeline.
fn chain_at(base: &Arg) -> At<'_> {
    match base {
        Arg::Pipe(p) => (base.pos(), p.as_ref()),
        other => (other.pos(), other),
    }
}

/// Executes `nodes` against `data`, appending output to `out`.
pub(super) fn execute<'t>(
    nodes: &'t [Node],
    data: &Value,
    missing: &'t MissingKey,
    header: bool,
    out: &mut String,
) -> R<()> {
    let mut st = State {
        vars: vec![("$", Val::Ref(data))],
        header,
        missing,
    };
    st.walk(out, &Val::Ref(data), nodes)?;
    Ok(())
}

impl<'t, 'a> State<'t, 'a> {
    fn walk(&mut self, out: &mut String, dot: &Val<'a>, nodes: &'t [Node]) -> R<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(s) => {
                    out.push_str(s);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.eval_pipe(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match v.value() {
                            None | Some(Value::Null) => out.push_str("<no value>"),
                            Some(v) => gofmt::write_v(out, v),
                        }
                    }
                    Flow::Normal
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.eval_pipe(dot, &b.pipe)?;
                    let flow = match (truth(&v), node) {
                        (true, Node::With(_)) => self.walk(out, &v, &b.list)?,
                        (true, _) => self.walk(out, dot, &b.list)?,
                        (false, _) => self.walk(out, dot, &b.else_list)?,
                    };
                    self.vars.truncate(mark);
                    flow
                }
                Node::Range(b) => self.range(out, dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn range(&mut self, out: &mut String, dot: &Val<'a>, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipe(dot, &b.pipe)?;
        let items: Vec<(Value, Val<'a>)> = match v.value() {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => (0..a.len())
                .filter_map(|i| Some((Value::from(i), v.child(Err(i))?)))
                .collect(),
            Some(Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter()
                    .filter_map(|k| Some((Value::from(k.as_str()), v.child(Ok(k))?)))
                    .collect()
            }
            Some(other) => {
                let cmd = &b.pipe.cmds[0];
                return fail(
                    cmd.pos,
                    &b.pipe,
                    format!("range can't iterate over {}", gofmt::to_v(other)),
                );
            }
        };
        if items.is_empty() {
            let flow = self.walk(out, dot, &b.else_list)?;
            self.vars.truncate(mark);
            return Ok(flow);
        }
        for (key, elem) in items {
            match b.pipe.decl.as_slice() {
                [one] => self.assign(one, elem.clone(), &b.pipe)?,
                [k, e] => {
                    self.assign(k, Val::owned(key), &b.pipe)?;
                    self.assign(e, elem.clone(), &b.pipe)?;
                }
                _ => {}
            }
            let inner = self.vars.len();
            let flow = self.walk(out, &elem, &b.list)?;
            self.vars.truncate(inner);
            if flow == Flow::Break {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    /// Assigns to the innermost variable `name`; false if there is none.
    fn set_var(&mut self, name: &str, v: Val<'a>) -> bool {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                true
            }
            None => false,
        }
    }

    fn var(&self, name: &str) -> Val<'a> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map_or(Val::Missing, |(_, v)| v.clone())
    }

    pub fn eval_pipe(&mut self, dot: &Val<'a>, pipe: &'t Pipe) -> R<Val<'a>> {
        let mut value: Option<Val<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_cmd(dot, cmd, value)?);
        }
        // A nil interface result is Go's invalid value.
        let value = match value {
            Some(v) if !matches!(v.value(), Some(Value::Null)) => v,
            _ => Val::Missing,
        };
        for name in &pipe.decl {
            if pipe.is_assign {
                self.assign(name, value.clone(), pipe)?;
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    /// `$x = …`: Go finds out at run time that `$x` was never declared.
    fn assign(&mut self, name: &str, v: Val<'a>, pipe: &Pipe) -> R<()> {
        if self.set_var(name, v) {
            return Ok(());
        }
        let last = pipe.cmds.last().map_or(0, |c| c.pos);
        let context = pipe.cmds.last().map(ToString::to_string).unwrap_or_default();
        fail(last, context, format!("undefined variable: {name}"))
    }

    fn eval_cmd(&mut self, dot: &Val<'a>, cmd: &'t Cmd, last: Option<Val<'a>>) -> R<Val<'a>> {
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || last.is_some();
        let not_a_function = |what: &Arg| -> R<()> {
            if has_args {
                return fail(
                    what.pos(),
                    what,
                    format!("can't give argument to non-function {what}"),
                );
            }
            Ok(())
        };
        match first {
            Arg::Field { pos, names } => self.fields(dot.clone(), names, has_args, (*pos, first)),
            Arg::Chain { pos, base, fields } => {
                if matches!(base.as_ref(), Arg::Nil { .. }) {
                    return fail(
                        *pos,
                        first,
                        format!("indirection through explicit nil in {first}"),
                    );
                }
                let recv = self.eval_arg(dot, base)?;
                self.fields(recv, fields, has_args, chain_at(base))
            }
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                if fields.is_empty() {
                    not_a_function(first)?;
                    return Ok(v);
                }
                self.fields(v, fields, has_args, (*pos, first))
            }
            Arg::Func { pos, name } => {
                funcs::call(self, dot, name, *pos, (cmd.pos, cmd), &cmd.args[1..], last)
            }
            Arg::Pipe(pipe) => {
                if has_args {
                    return fail(
                        cmd.pos,
                        cmd,
                        format!("can't give argument to non-function {pipe}"),
                    );
                }
                self.eval_pipe(dot, pipe)
            }
            Arg::Nil { pos } => fail(*pos, first, "nil is not a command"),
            _ => {
                not_a_function(first)?;
                self.eval_arg(dot, first)
            }
        }
    }

    /// Evaluates a function argument.
    pub fn eval_arg(&mut self, dot: &Val<'a>, arg: &'t Arg) -> R<Val<'a>> {
        Ok(match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => Val::Ref(&NULL),
            Arg::Bool { value, .. } => Val::owned(Value::Bool(*value)),
            Arg::Str { value, .. } => Val::owned(Value::String(value.clone())),
            Arg::Number { num, .. } => Val::owned(match (num.int, num.is_float) {
                (Some(i), false) => Value::from(i),
                _ => Value::from(num.float),
            }),
            Arg::Field { pos, names } => self.fields(dot.clone(), names, false, (*pos, arg))?,
            Arg::Var { pos, name, fields } => {
                let v = self.var(name);
                self.fields(v, fields, false, (*pos, arg))?
            }
            Arg::Chain { base, fields, .. } => {
                let recv = self.eval_arg(dot, base)?;
                self.fields(recv, fields, false, chain_at(base))?
            }
            Arg::Pipe(pipe) => self.eval_pipe(dot, pipe)?,
            Arg::Func { pos, name } => funcs::call(self, dot, name, *pos, (*pos, arg), &[], None)?,
        })
    }

    /// Follows a chain of field names from `recv`.
    fn fields(&self, recv: Val<'a>, names: &[String], has_args: bool, at: At<'_>) -> R<Val<'a>> {
        let (pos, node) = at;
        let mut v = recv;
        for (i, name) in names.iter().enumerate() {
            let args = has_args && i + 1 == names.len();
            v = match v.value() {
                None => match self.missing {
                    MissingKey::MapError => {
                        return fail(pos, node, format!("nil data; no entry for key {name:?}"));
                    }
                    _ => Val::Missing,
                },
                Some(Value::Null) => {
                    return fail(pos, node, format!("nil pointer evaluating interface {{}}.{name}"));
                }
                Some(Value::Object(_)) => {
                    if args {
                        return fail(pos, node, format!("{name} is not a method but has arguments"));
                    }
                    match (v.child(Ok(name)), self.missing) {
                        (Some(c), _) => c,
                        (None, MissingKey::NoValue) => Val::Missing,
                        (None, MissingKey::MapError) => {
                            return fail(pos, node, format!("map has no entry for key {name:?}"));
                        }
                        (None, MissingKey::Field(ty)) => {
                            return fail(pos, node, format!("can't evaluate field {name} in type {ty}"));
                        }
                    }
                }
                Some(other) => {
                    let ty = gofmt::type_name(other);
                    return fail(pos, node, format!("can't evaluate field {name} in type {ty}"));
                }
            };
        }
        Ok(v)
    }
}
