//! `berth search [--filter F] [--format T] [--limit N] [--no-trunc] TERM`: asks the engine to search Docker Hub (or
//! the registry the term names) and prints Docker's table: NAME, DESCRIPTION (45 characters unless --no-trunc),
//! STARS, OFFICIAL.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::{Value, json};

use crate::error::CmdResult;
use crate::{opts, output};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Max number of search results
    #[arg(long, default_value_t = 0)]
    pub limit: u32,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "TERM")]
    pub term: String,
}

const FILTERS: &[&str] = &["is-automated", "is-official", "stars"];
const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];
/// Description width in the table, as Docker's.
const DESCRIPTION_WIDTH: usize = 45;

fn row(r: &Value, no_trunc: bool) -> Value {
    let description = r["description"].as_str().unwrap_or_default().replace('\n', " ");
    let flag = |key: &str| {
        if r[key].as_bool() == Some(true) {
            "[OK]"
        } else {
            ""
        }
    };
    json!({
        "Name": r["name"],
        "Description": if no_trunc { description } else { crate::format::ellipsis(&description, DESCRIPTION_WIDTH) },
        "StarCount": r["star_count"].as_u64().unwrap_or(0).to_string(),
        "IsOfficial": flag("is_official"),
        "IsAutomated": flag("is_automated"),
    })
}

pub fn run(c: &Client, a: SearchArgs) -> CmdResult {
    let filters = opts::parse_filters(&a.filter, FILTERS)?;
    let mut params = vec![("term", a.term.clone())];
    if a.limit != 0 {
        params.push(("limit", a.limit.to_string()));
    }
    if !filters.is_empty() {
        params.push(("filters", serde_json::to_string(&filters).unwrap_or_default()));
    }
    let results: Vec<Value> = c.json(
        Method::GET,
        &format!("/images/search{}", query(&params)),
        Body::Empty,
    )?;
    let rows: Vec<Value> = results.iter().map(|r| row(r, a.no_trunc)).collect();
    print!(
        "{}",
        output::render(
            a.format.as_deref(),
            DEFAULT_TABLE,
            HEADERS,
            &rows,
            "*search.searchContext"
        )?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_as_docker_shows_them() {
        let r = json!({"name": "busybox", "description": "Busybox base image.\nSmall.", "star_count": 3300,
                       "is_official": true, "is_automated": false});
        let row = row(&r, true);
        assert_eq!(row["Description"], "Busybox base image. Small.");
        assert_eq!(row["StarCount"], "3300");
        assert_eq!(row["IsOfficial"], "[OK]");
        assert_eq!(row["IsAutomated"], "");
        let long = json!({"name": "x", "description": "d".repeat(60)});
        let cut = super::row(&long, false);
        assert_eq!(
            cut["Description"].as_str().unwrap().chars().count(),
            DESCRIPTION_WIDTH
        );
    }
}
