//! Printing listings the way Docker does: a default table, a `table …` template with a header row, or a raw
//! template rendered once per row.

use serde_json::Value;

use crate::error::Failure;
use crate::template::{self, MissingKey};

/// Renders `rows` with the user's `--format` (or `default_table`), `headers` naming each field's column title;
/// `row_type` is the Go type Docker names when a template asks for a field rows do not have.
pub fn render(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
    row_type: &str,
) -> Result<String, Failure> {
    let format = match format {
        None | Some("") | Some("table") => default_table,
        Some(f) => f,
    };
    let fail = |e: template::Error| Failure {
        message: e.to_string(),
        code: 1,
    };
    let parsed = template::Format::parse(format).map_err(fail)?;
    parsed
        .with_missing_key(MissingKey::Field(row_type.to_string()))
        .render(headers, rows)
        .map_err(fail)
}
