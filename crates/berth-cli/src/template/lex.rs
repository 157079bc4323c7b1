//! Lexer for the Go text/template subset: splits a template into text runs and action tokens,
//! applying `{{-`/`-}}` whitespace trimming and dropping `{{/* comments */}}`.

use super::ParseError;
use super::literal::{parse_number, unquote};

/// Keywords that may start an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Open,
    Close,
    /// `.Name` (stored without the dot).
    Field(String),
    /// `$name` or `$` (stored with the dollar).
    Var(String),
    Ident(String),
    Keyword(Keyword),
    /// A quoted or raw string: original text and unquoted value.
    Str(String, String),
    /// A number or character constant, original text.
    Number(String),
    Bool(bool),
    Nil,
    Dot,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: usize,
    /// Whether whitespace separates this token from the previous one inside an action.
    pub space_before: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        toks: Vec::new(),
        trim_next_text: false,
    };
    lx.run()?;
    Ok(lx.toks)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    toks: Vec<Token>,
    trim_next_text: bool,
}

impl Lexer<'_> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError { pos, msg: msg.into() }
    }

    fn push(&mut self, tok: Tok, pos: usize, space_before: bool) {
        self.toks.push(Token {
            tok,
            pos,
            space_before,
        });
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            let start = self.pos;
            let open = self.rest().find("{{").map(|i| start + i);
            let end = open.unwrap_or(self.src.len());
            let mut text = &self.src[start..end];
            if self.trim_next_text {
                text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
                self.trim_next_text = false;
            }
            let Some(open) = open else {
                if !text.is_empty() {
                    self.push(Tok::Text(text.to_string()), start, false);
                }
                self.push(Tok::Eof, self.src.len(), false);
                return Ok(());
            };
            let bytes = self.src.as_bytes();
            let left_trim =
                bytes.get(open + 2) == Some(&b'-') && bytes.get(open + 3).is_some_and(|&c| is_space(c));
            if left_trim {
                text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            }
            if !text.is_empty() {
                self.push(Tok::Text(text.to_string()), start, false);
            }
            self.pos = open + if left_trim { 3 } else { 2 };
            let after_space = self.skip_spaces();
            if self.rest().starts_with("/*") {
                self.comment(open)?;
                continue;
            }
            self.push(Tok::Open, open, false);
            self.action(after_space)?;
        }
    }

    fn skip_spaces(&mut self) -> bool {
        let n = self.rest().bytes().take_while(|&c| is_space(c)).count();
        self.pos += n;
        n > 0
    }

    /// Checks for `}}` or ` -}}` at the current position and consumes it.
    fn close_delim(&mut self) -> bool {
        let rest = self.rest().as_bytes();
        if rest.starts_with(b"}}") {
            self.pos += 2;
            return true;
        }
        if rest.len() >= 4 && is_space(rest[0]) && rest[1] == b'-' && rest[2..].starts_with(b"}}") {
            self.pos += 4;
            self.trim_next_text = true;
            return true;
        }
        false
    }

    fn comment(&mut self, open: usize) -> Result<(), ParseError> {
        let Some(end) = self.rest().find("*/") else {
            return Err(self.err(open, "unclosed comment"));
        };
        self.pos += end + 2;
        if self.close_delim() {
            return Ok(());
        }
        Err(self.err(self.pos, "comment ends before closing delimiter"))
    }

    fn action(&mut self, mut space: bool) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            if self.close_delim() {
                if depth > 0 {
                    return Err(self.err(self.pos, "unclosed left paren"));
                }
                self.push(Tok::Close, self.pos - 2, space);
                return Ok(());
            }
            let start = self.pos;
            let Some(c) = self.rest().chars().next() else {
                return Err(self.err(start, "unclosed action"));
            };
            if c.is_ascii() && is_space(c as u8) {
                space = self.skip_spaces();
                continue;
            }
            let tok = match c {
                '|' => self.single(Tok::Pipe),
                ',' => self.single(Tok::Comma),
                '(' => {
                    depth += 1;
                    self.single(Tok::LParen)
                }
                ')' => {
                    if depth == 0 {
                        return Err(self.err(start, "unexpected right paren"));
                    }
                    depth -= 1;
                    self.single(Tok::RParen)
                }
                '=' => self.single(Tok::Assign),
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err(self.err(start, "expected :="));
                    }
                    self.pos += 2;
                    Tok::Declare
                }
                '"' => self.quoted(start)?,
                '`' => self.raw_string(start)?,
                '\'' => self.char_const(start)?,
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.terminator()?;
                    Tok::Var(format!("${name}"))
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        self.number(start)?
                    } else {
                        self.pos += 1;
                        let name = self.word();
                        self.terminator()?;
                        if name.is_empty() {
                            Tok::Dot
                        } else {
                            Tok::Field(name)
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    let word = self.word();
                    self.terminator()?;
                    keyword_or_ident(word)
                }
                c => return Err(self.err(start, format!("bad character {}", go_char_desc(c)))),
            };
            self.push(tok, start, space);
            space = false;
        }
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn word(&mut self) -> String {
        let n: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_alnum(c))
            .map(char::len_utf8)
            .sum();
        let w = self.rest()[..n].to_string();
        self.pos += n;
        w
    }

    /// Go requires identifiers and fields to be followed by a separator.
    fn terminator(&self) -> Result<(), ParseError> {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        if (c.is_ascii() && is_space(c as u8)) || ".,|:()".contains(c) || rest.starts_with("}}") {
            return Ok(());
        }
        Err(self.err(self.pos, format!("bad character {}", go_char_desc(c))))
    }

    fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        let bytes = self.src.as_bytes();
        let mut i = self.pos;
        if matches!(bytes[i], b'+' | b'-') {
            i += 1;
        }
        while i < bytes.len() {
            let c = bytes[i];
            let prev = bytes[i - 1].to_ascii_lowercase();
            let exp_sign =
                matches!(c, b'+' | b'-') && matches!(prev, b'e' | b'p') && !is_hex(&bytes[start..i]);
            if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exp_sign {
                i += 1;
            } else {
                break;
            }
        }
        let text = &self.src[start..i];
        self.pos = i;
        if parse_number(text).is_none() {
            return Err(self.err(start, format!("bad number syntax: {text:?}")));
        }
        Ok(Tok::Number(text.to_string()))
    }

    fn quoted(&mut self, start: usize) -> Result<Tok, ParseError> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return Err(self.err(start, "unterminated quoted string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let text = &self.src[start..=i];
        self.pos = i + 1;
        let value =
            unquote(&text[1..text.len() - 1], '"').ok_or_else(|| self.err(start, "invalid syntax"))?;
        Ok(Tok::Str(text.to_string(), value))
    }

    fn raw_string(&mut self, start: usize) -> Result<Tok, ParseError> {
        let Some(end) = self.src[start + 1..].find('`') else {
            return Err(self.err(start, "unterminated raw quoted string"));
        };
        let text = &self.src[start..start + end + 2];
        self.pos = start + end + 2;
        Ok(Tok::Str(text.to_string(), text[1..text.len() - 1].to_string()))
    }

    fn char_const(&mut self, start: usize) -> Result<Tok, ParseError> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return Err(self.err(start, "unterminated character constant")),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let text = &self.src[start..=i];
        self.pos = i + 1;
        let value = unquote(&text[1..text.len() - 1], '\'').filter(|v| v.chars().count() == 1);
        if value.is_none() {
            return Err(self.err(start, format!("malformed character constant: {text}")));
        }
        Ok(Tok::Number(text.to_string()))
    }
}

fn is_hex(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"+").or_else(|| s.strip_prefix(b"-")).unwrap_or(s);
    s.len() >= 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X')
}

fn keyword_or_ident(word: String) -> Tok {
    let kw = match word.as_str() {
        "if" => Keyword::If,
        "else" => Keyword::Else,
        "end" => Keyword::End,
        "range" => Keyword::Range,
        "with" => Keyword::With,
        "break" => Keyword::Break,
        "continue" => Keyword::Continue,
        "define" => Keyword::Define,
        "template" => Keyword::Template,
        "block" => Keyword::Block,
        "true" => return Tok::Bool(true),
        "false" => return Tok::Bool(false),
        "nil" => return Tok::Nil,
        _ => return Tok::Ident(word),
    };
    Tok::Keyword(kw)
}

/// Go's `%#U` rendering of a character, as used in "bad character" errors.
pub(super) fn go_char_desc(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_and_fields() {
        assert_eq!(
            toks("a {{.B.C}} d"),
            vec![
                Tok::Text("a ".into()),
                Tok::Open,
                Tok::Field("B".into()),
                Tok::Field("C".into()),
                Tok::Close,
                Tok::Text(" d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        assert_eq!(
            toks("a  {{- 1 -}}  b"),
            vec![
                Tok::Text("a".into()),
                Tok::Open,
                Tok::Number("1".into()),
                Tok::Close,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("x {{- /* c */ -}} y"),
            vec![Tok::Text("x".into()), Tok::Text("y".into()), Tok::Eof]
        );
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(toks("{{-3}}")[1], Tok::Number("-3".into()));
    }

    #[test]
    fn strings_numbers_vars() {
        let t = toks(r#"{{$x := "a\tb" `r\n` 'c' 0x1F 1.5e3 $}}"#);
        assert_eq!(t[1], Tok::Var("$x".into()));
        assert_eq!(t[2], Tok::Declare);
        assert_eq!(t[3], Tok::Str(r#""a\tb""#.into(), "a\tb".into()));
        assert_eq!(t[4], Tok::Str("`r\\n`".into(), "r\\n".into()));
        assert_eq!(t[5], Tok::Number("'c'".into()));
        assert_eq!(t[8], Tok::Var("$".into()));
    }

    #[test]
    fn errors() {
        let e = |s: &str| lex(s).unwrap_err().msg;
        assert_eq!(e("{{.A"), "unclosed action");
        assert_eq!(e("{{@}}"), "bad character U+0040 '@'");
        assert_eq!(e(r#"{{"abc}}"#), "unterminated quoted string");
        assert_eq!(e("{{(1}}"), "unclosed left paren");
        assert_eq!(e("{{1)}}"), "unexpected right paren");
        assert_eq!(e("{{/* x }}"), "unclosed comment");
        assert_eq!(e("{{/* x */ 1}}"), "comment ends before closing delimiter");
        assert_eq!(e("{{1x}}"), "bad number syntax: \"1x\"");
        assert_eq!(e(r#"{{.A"x"}}"#), "bad character U+0022 '\"'");
    }
}
