//! Printing listings the way Docker does: a default table, a `table …` template with a header row, or a raw
//! template rendered once per row.

use serde_json::Value;

use crate::error::Failure;
use crate::template;

/// Renders `rows` with the user's `--format` (or `default_table`), `headers` naming each field's column title.
pub fn render(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<String, Failure> {
    let format = match format {
        None | Some("") | Some("table") => default_table,
        Some(f) => f,
    };
    template::render_table(format, headers, rows).map_err(|e| Failure {
        message: e.to_string(),
        code: 1,
    })
}
