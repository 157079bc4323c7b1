//! Parse tree of a template, with Go's canonical rendering of nodes (used in error messages).

use std::fmt;

use super::literal::Number;

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Break,
    Continue,
}

/// The pipeline and bodies of `if`, `with` and `range`.
#[derive(Debug)]
pub(super) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Vec<Node>,
}

#[derive(Debug)]
pub(super) struct Pipe {
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(super) struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub(super) enum Arg {
    /// `.A.B`: `pos` is Go's node position (the second field when chained).
    Field {
        pos: usize,
        names: Vec<String>,
    },
    /// `$x.A`.
    Var {
        pos: usize,
        name: String,
        fields: Vec<String>,
    },
    /// `(pipeline).A`.
    Chain {
        pos: usize,
        base: Box<Arg>,
        fields: Vec<String>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Str {
        pos: usize,
        text: String,
        value: String,
    },
    Number {
        pos: usize,
        text: String,
        num: Number,
    },
    Func {
        pos: usize,
        name: String,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    /// Go's position of the node (byte offset in the template).
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Var { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Str { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::Func { pos, .. } => *pos,
            Arg::Pipe(p) => p.cmds.first().map_or(0, |c| c.pos),
        }
    }

    /// Whether the node is a constant (Go reports type mismatches of constants differently).
    pub fn is_constant(&self) -> bool {
        matches!(
            self,
            Arg::Bool { .. } | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil { .. }
        )
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.is_assign { "=" } else { ":=" }
            )?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

fn fields(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    names.iter().try_for_each(|n| write!(f, ".{n}"))
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { names, .. } => fields(f, names),
            Arg::Var {
                name, fields: names, ..
            } => {
                f.write_str(name)?;
                fields(f, names)
            }
            Arg::Chain {
                base, fields: names, ..
            } => {
                match base.as_ref() {
                    Arg::Pipe(_) => write!(f, "{base}")?,
                    other => write!(f, "({other})")?,
                }
                fields(f, names)
            }
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Str { text, .. } | Arg::Number { text, .. } => f.write_str(text),
            Arg::Func { name, .. } => f.write_str(name),
            Arg::Pipe(pipe) => write!(f, "({pipe})"),
        }
    }
}
