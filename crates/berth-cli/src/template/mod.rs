//! Docker's `--format` templates: a Go text/template subset evaluated against JSON values, with
//! Docker's template functions, its `table` and `json` format keys, and its tabwriter alignment.
//!
//! - `docker inspect -f`: [`Template::parse`] the format as given (no `\t`/`\n` processing; the
//!   format `json` means compact JSON and is the caller's), execute per object, add `\n`.
//! - `docker ps/images --format`: [`Format::parse`] handles `table …`, `json`, space trimming and
//!   the `\t` `\n` escapes; [`Format::render`] renders all rows (and the header for tables).
//! - default listings: [`tabwrite`].

mod ast;
mod exec;
mod funcs;
mod gofmt;
mod json;
mod lex;
mod literal;
mod parse;
mod tabwriter;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use json::go_json;

/// A template error, worded as Docker prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("template parsing error: template: :{line}: {msg}")]
    Parse { line: usize, msg: String },
    #[error("template parsing error: template: :{line}:{col}: executing \"\" at <{context}>: {msg}")]
    Exec {
        line: usize,
        col: usize,
        context: String,
        msg: String,
    },
}

/// A parse error at a byte offset of the template text.
#[derive(Debug)]
struct ParseError {
    pos: usize,
    msg: String,
}

/// What a field access on an object without that key does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Go's default: the value is missing and prints as `<no value>`.
    #[default]
    NoValue,
    /// Go's `missingkey=error` (Docker inspect's raw fallback): `map has no entry for key "X"`.
    MapError,
    /// Docker's typed rows (`docker ps`): `can't evaluate field X in type <name>`.
    Field(String),
}

static NO_VALUE: MissingKey = MissingKey::NoValue;

/// A parsed template; parse once, execute per object.
#[derive(Debug)]
pub struct Template {
    src: String,
    nodes: Vec<ast::Node>,
    missing: MissingKey,
}

fn line_of(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = 1 + before.matches('\n').count();
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1);
    (line, col)
}

impl Template {
    /// Parses Go template text.
    pub fn parse(text: &str) -> Result<Template, Error> {
        let nodes = lex::lex(text).and_then(parse::parse).map_err(|e| Error::Parse {
            line: line_of(text, e.pos).0,
            msg: e.msg,
        })?;
        Ok(Template {
            src: text.to_string(),
            nodes,
            missing: MissingKey::default(),
        })
    }

    /// Sets the behaviour for missing object keys.
    pub fn with_missing_key(mut self, missing: MissingKey) -> Template {
        self.missing = missing;
        self
    }

    /// Renders the template against `data`.
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_into(data, &self.missing, false, &mut out)?;
        Ok(out)
    }

    fn execute_into(
        &self,
        data: &Value,
        missing: &MissingKey,
        header: bool,
        out: &mut String,
    ) -> Result<(), Error> {
        exec::execute(&self.nodes, data, missing, header, out).map_err(|e| {
            let (line, col) = line_of(&self.src, e.pos);
            Error::Exec {
                line,
                col,
                context: e.context,
                msg: e.msg,
            }
        })
    }
}

/// A Docker `--format` value for list commands.
#[derive(Debug)]
pub struct Format {
    table: bool,
    template: Template,
}

impl Format {
    /// Parses a format as Docker's formatter does: a `table` prefix selects table output, `json`
    /// means `{{json .}}`, surrounding spaces are trimmed and `\t` `\n` become tab and newline.
    /// The bare keys `table` and `raw` select a command's default format: callers substitute it.
    pub fn parse(format: &str) -> Result<Format, Error> {
        let (table, body) = match format.strip_prefix("table") {
            Some(rest) => (true, rest),
            None if format == "json" => (false, "{{json .}}"),
            None => (false, format),
        };
        let body = body.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n");
        Ok(Format {
            table,
            template: Template::parse(&body)?,
        })
    }

    /// Sets the behaviour for missing keys in rows (Docker's rows are typed: see [`MissingKey::Field`]).
    pub fn with_missing_key(mut self, missing: MissingKey) -> Format {
        self.template = self.template.with_missing_key(missing);
        self
    }

    /// Renders `rows`, each followed by a newline. Tables get a header row, made by evaluating
    /// the template against `headers` (field name, column title) with Docker's header
    /// functions, and columns aligned like Docker's tabwriter. Nothing is returned on error.
    pub fn render(&self, headers: &[(&str, &str)], rows: &[Value]) -> Result<String, Error> {
        let mut body = String::new();
        for row in rows {
            self.template
                .execute_into(row, &self.template.missing, false, &mut body)?;
            body.push('\n');
        }
        if !self.table {
            return Ok(body);
        }
        let header: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let mut text = String::new();
        // Docker ignores header errors and keeps what was written before them.
        let _ = self
            .template
            .execute_into(&Value::Object(header), &NO_VALUE, true, &mut text);
        text.push('\n');
        text.push_str(&body);
        Ok(tabwriter::align(&text))
    }
}

/// Aligns rows of cells as Docker's default listings (`docker ps`, `docker images`) do; every
/// line ends with a newline.
pub fn tabwrite(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    tabwriter::align(&text)
}
