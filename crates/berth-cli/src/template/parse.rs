//! Parser: turns lexer tokens into the parse tree, checking functions and variables as Go's
//! text/template/parse does, with Go's error wording.

use super::ParseError;
use super::ast::{Arg, Branch, Cmd, Node, Pipe};
use super::funcs;
use super::lex::{Keyword, Tok, Token};
use super::literal::parse_number;

/// Parses a whole template.
pub(super) fn parse(tokens: Vec<Token>) -> Result<Vec<Node>, ParseError> {
    let mut p = Parser {
        toks: tokens,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
    };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End(pos) => Err(ParseError {
            pos,
            msg: "unexpected {{end}}".into(),
        }),
        Stop::Else(pos) => Err(ParseError {
            pos,
            msg: "unexpected {{else}}".into(),
        }),
    }
}

enum Stop {
    Eof,
    End(usize),
    Else(usize),
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
}

/// How Go's parser names a token in "unexpected … in …" errors.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Eof => "EOF".into(),
        Tok::Close => "\"}}\"".into(),
        Tok::Open => "\"{{\"".into(),
        Tok::Keyword(k) => format!("<{}>", format!("{k:?}").to_lowercase()),
        Tok::Field(n) => format!("{:?}", format!(".{n}")),
        Tok::Var(n) | Tok::Ident(n) | Tok::Number(n) | Tok::Str(n, _) => format!("{n:?}"),
        Tok::Text(t) => format!("{t:?}"),
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "<nil>".into(),
        Tok::Dot => "<.>".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { pos, msg: msg.into() })
    }

    fn expect_close(&mut self, context: &str) -> Result<(), ParseError> {
        let t = self.next();
        if t.tok == Tok::Close {
            return Ok(());
        }
        self.err(t.pos, format!("unexpected {} in {context}", describe(&t.tok)))
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), ParseError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Open => {
                    let k = self.peek().clone();
                    match k.tok {
                        Tok::Keyword(Keyword::End) => {
                            self.next();
                            self.expect_close("end")?;
                            return Ok((nodes, Stop::End(k.pos)));
                        }
                        Tok::Keyword(Keyword::Else) => {
                            self.next();
                            return Ok((nodes, Stop::Else(k.pos)));
                        }
                        _ => nodes.push(self.action()?),
                    }
                }
                other => return self.err(t.pos, format!("unexpected {}", describe(&other))),
            }
        }
    }

    fn action(&mut self) -> Result<Node, ParseError> {
        let t = self.peek().clone();
        let Tok::Keyword(kw) = t.tok else {
            return Ok(Node::Action(self.pipeline("command", &Tok::Close)?));
        };
        self.next();
        match kw {
            Keyword::If | Keyword::With | Keyword::Range => self.control(kw),
            Keyword::Break | Keyword::Continue => {
                let name = if kw == Keyword::Break { "break" } else { "continue" };
                if self.range_depth == 0 {
                    return self.err(t.pos, format!("{{{{{name}}}}} outside {{{{range}}}}"));
                }
                self.expect_close(&format!("{{{{{name}}}}}"))?;
                Ok(if kw == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            _ => self.err(t.pos, format!("{} is not supported", describe(&t.tok))),
        }
    }

    /// Parses `if`/`with`/`range` after the keyword, through the matching `{{end}}`.
    fn control(&mut self, kw: Keyword) -> Result<Node, ParseError> {
        let context = match kw {
            Keyword::If => "if",
            Keyword::With => "with",
            _ => "range",
        };
        let mark = self.vars.len();
        let pipe = self.pipeline(context, &Tok::Close)?;
        if kw == Keyword::Range {
            self.range_depth += 1;
        }
        let (list, stop) = self.list()?;
        if kw == Keyword::Range {
            self.range_depth -= 1;
        }
        let else_list = match stop {
            Stop::End(_) => Vec::new(),
            Stop::Eof => return self.err(self.peek().pos, "unexpected EOF"),
            Stop::Else(_) => {
                let nested = self.peek().tok == Tok::Keyword(kw) && kw != Keyword::Range;
                if nested {
                    // `{{else if …}}` is `{{else}}{{if …}}…{{end}}{{end}}` sharing one {{end}}.
                    self.next();
                    vec![self.control(kw)?]
                } else {
                    if let Tok::Keyword(k @ (Keyword::If | Keyword::With)) = self.peek().tok {
                        let what = describe(&Tok::Keyword(k));
                        return self.err(self.peek().pos, format!("unexpected {what} in input"));
                    }
                    self.expect_close("else")?;
                    let (else_list, stop) = self.list()?;
                    match stop {
                        Stop::End(_) => else_list,
                        Stop::Eof => return self.err(self.peek().pos, "unexpected EOF"),
                        Stop::Else(pos) => return self.err(pos, "expected end; found {{else}}"),
                    }
                }
            }
        };
        self.vars.truncate(mark);
        let branch = Box::new(Branch {
            pipe,
            list,
            else_list,
        });
        Ok(match kw {
            Keyword::If => Node::If(branch),
            Keyword::With => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    fn pipeline(&mut self, context: &str, end: &Tok) -> Result<Pipe, ParseError> {
        let start = self.peek().pos;
        let mut pipe = Pipe {
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let t = self.peek().clone();
            if &t.tok == end {
                self.next();
                break;
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(..)
                | Tok::Var(_)
                | Tok::LParen => pipe.cmds.push(self.command()?),
                other => return self.err(t.pos, format!("unexpected {} in {context}", describe(&other))),
            }
        }
        if pipe.cmds.is_empty() {
            return self.err(start, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if c.args[0].is_constant() || matches!(c.args[0], Arg::Dot { .. }) {
                return self.err(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(pipe)
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<(), ParseError> {
        loop {
            let Tok::Var(name) = self.peek().tok.clone() else {
                return Ok(());
            };
            let next = self.peek_at(1).clone();
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    self.i += 2;
                    pipe.is_assign = next.tok == Tok::Assign;
                    pipe.decl.push(name.clone());
                    if !pipe.is_assign {
                        self.vars.push(name);
                    }
                    return Ok(());
                }
                Tok::Comma => {
                    self.i += 2;
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        if matches!(self.peek().tok, Tok::Var(_)) {
                            continue;
                        }
                        return self.err(self.peek().pos, "range can only initialize variables");
                    }
                    return self.err(next.pos, format!("too many declarations in {context}"));
                }
                _ if pipe.decl.is_empty() => return Ok(()),
                _ => return self.err(next.pos, format!("missing := after variables in {context}")),
            }
        }
    }

    fn command(&mut self) -> Result<Cmd, ParseError> {
        let pos = self.peek().pos;
        let mut args = Vec::new();
        loop {
            match self.operand()? {
                Some(a) => args.push(a),
                None => {
                    let t = self.peek();
                    return self.err(t.pos, format!("unexpected {} in operand", describe(&t.tok)));
                }
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Close | Tok::RParen => break,
                Tok::Pipe => {
                    self.next();
                    break;
                }
                _ if t.space_before => continue,
                other => return self.err(t.pos, format!("unexpected {} in operand", describe(&other))),
            }
        }
        Ok(Cmd { pos, args })
    }

    fn operand(&mut self) -> Result<Option<Arg>, ParseError> {
        let Some(term) = self.term()? else { return Ok(None) };
        let chained = matches!(self.peek().tok, Tok::Field(_)) && !self.peek().space_before;
        if !chained {
            return Ok(Some(term));
        }
        let chain_pos = self.peek().pos;
        let mut more = Vec::new();
        while let (Tok::Field(name), false) = (&self.peek().tok, self.peek().space_before) {
            more.push(name.clone());
            self.next();
        }
        Ok(Some(match term {
            Arg::Field { mut names, .. } => {
                names.extend(more);
                Arg::Field {
                    pos: chain_pos,
                    names,
                }
            }
            Arg::Var { name, .. } => Arg::Var {
                pos: chain_pos,
                name,
                fields: more,
            },
            t if t.is_constant() || matches!(t, Arg::Dot { .. }) => {
                return self.err(chain_pos, format!("unexpected . after term {:?}", t.to_string()));
            }
            base => Arg::Chain {
                pos: chain_pos,
                base: Box::new(base),
                fields: more,
            },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>, ParseError> {
        let t = self.peek().clone();
        let arg = match t.tok {
            Tok::Ident(name) => {
                if !funcs::is_defined(&name) {
                    return self.err(t.pos, format!("function {name:?} not defined"));
                }
                Arg::Func { pos: t.pos, name }
            }
            Tok::Dot => Arg::Dot { pos: t.pos },
            Tok::Nil => Arg::Nil { pos: t.pos },
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return self.err(t.pos, format!("undefined variable {name:?}"));
                }
                Arg::Var {
                    pos: t.pos,
                    name,
                    fields: Vec::new(),
                }
            }
            Tok::Field(name) => Arg::Field {
                pos: t.pos,
                names: vec![name],
            },
            Tok::Bool(value) => Arg::Bool { pos: t.pos, value },
            Tok::Number(text) => match parse_number(&text) {
                Some(num) => Arg::Number {
                    pos: t.pos,
                    text,
                    num,
                },
                None => return self.err(t.pos, format!("bad number syntax: {text:?}")),
            },
            Tok::Str(text, value) => Arg::Str {
                pos: t.pos,
                text,
                value,
            },
            Tok::LParen => {
                self.next();
                let pipe = self.pipeline("parenthesized pipeline", &Tok::RParen)?;
                return Ok(Some(Arg::Pipe(Box::new(pipe))));
            }
            _ => return Ok(None),
        };
        self.next();
        Ok(Some(arg))
    }
}

#[cfg(test)]
mod tests {
    use super::super::lex::lex;
    use super::*;

    fn err(src: &str) -> String {
        match lex(src).and_then(parse) {
            Ok(_) => panic!("{src} parsed"),
            Err(e) => e.msg,
        }
    }

    fn pipe_text(src: &str) -> String {
        let nodes = lex(src).and_then(parse).unwrap();
        match &nodes[0] {
            Node::Action(p) => p.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn canonical_rendering() {
        assert_eq!(pipe_text("{{ index  .A   5 }}"), "index .A 5");
        assert_eq!(
            pipe_text(r#"{{.X | printf "%s" | upper}}"#),
            r#".X | printf "%s" | upper"#
        );
        assert_eq!(pipe_text("{{(index .A 0).Name}}"), "(index .A 0).Name");
        assert_eq!(pipe_text("{{$x := .A.B}}"), "$x := .A.B");
    }

    #[test]
    fn chained_field_position_is_second_field() {
        let nodes = lex("{{.Ab.Cd}}").and_then(parse).unwrap();
        let Node::Action(p) = &nodes[0] else { panic!() };
        let Arg::Field { pos, names } = &p.cmds[0].args[0] else {
            panic!()
        };
        assert_eq!((*pos, names.len()), (5, 2));
    }

    #[test]
    fn errors_use_go_wording() {
        assert_eq!(err("{{foo .X}}"), r#"function "foo" not defined"#);
        assert_eq!(err("{{if .X}}a"), "unexpected EOF");
        assert_eq!(err("{{end}}"), "unexpected {{end}}");
        assert_eq!(err("{{else}}"), "unexpected {{else}}");
        assert_eq!(err("{{}}"), "missing value for command");
        assert_eq!(err("{{if}}{{end}}"), "missing value for if");
        assert_eq!(err("{{$x}}"), r#"undefined variable "$x""#);
        assert_eq!(err("{{break}}"), "{{break}} outside {{range}}");
        assert_eq!(
            err(r#"{{.X | "a"}}"#),
            "non executable command in pipeline stage 2"
        );
        assert_eq!(err(r#"{{"a".X}}"#), r#"unexpected . after term "\"a\"""#);
        assert_eq!(err("{{$a, $b := .X}}"), "too many declarations in command");
        assert_eq!(
            err("{{range .X}}{{else}}{{else}}{{end}}"),
            "expected end; found {{else}}"
        );
        assert_eq!(
            err("{{range .X}}{{else if .Y}}{{end}}"),
            "unexpected <if> in input"
        );
        assert_eq!(err("{{..}}"), "unexpected <.> in operand");
    }

    #[test]
    fn variables_are_scoped_to_control_structures() {
        assert!(lex("{{with $x := .A}}{{$x}}{{end}}").and_then(parse).is_ok());
        assert_eq!(
            err("{{with $x := .A}}{{end}}{{$x}}"),
            r#"undefined variable "$x""#
        );
        assert!(
            lex("{{range $i, $e := .A}}{{$i}}{{$e}}{{break}}{{end}}")
                .and_then(parse)
                .is_ok()
        );
        assert!(
            lex("{{if .A}}a{{else if .B}}b{{else}}c{{end}}")
                .and_then(parse)
                .is_ok()
        );
    }
}
