//! `berth network ls`: networks sorted by name, with Docker's columns, filters and `--format`.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::{Value, json};

use crate::error::CmdResult;
use crate::sortorder::natural_cmp;
use crate::{opts, output};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long)]
    pub filter: Vec<String>,
}

const FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];
const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// Go's `time.Time.String()` of an RFC 3339 time (in UTC): `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn go_time(rfc3339: &str) -> String {
    let Some(nanos) = berth_engine::timefmt::parse(rfc3339) else {
        return String::new();
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(crate::format::go_time)
        .unwrap_or_default()
}

/// The template row of network `n`.
fn row(n: &Value, no_trunc: bool) -> Value {
    let id = n["Id"].as_str().unwrap_or_default();
    let labels = crate::format::labels_text(&n["Labels"]);
    json!({
        "ID": if no_trunc { id } else { &id[..12.min(id.len())] },
        "Name": n["Name"],
        "Driver": n["Driver"],
        "Scope": n["Scope"],
        "IPv6": n["EnableIPv6"].as_bool().unwrap_or(false).to_string(),
        "Internal": n["Internal"].as_bool().unwrap_or(false).to_string(),
        "Labels": labels,
        "CreatedAt": go_time(n["Created"].as_str().unwrap_or_default()),
    })
}

pub fn run(c: &Client, a: LsArgs) -> CmdResult {
    let filters = opts::parse_filters(&a.filter, FILTERS)?;
    let path = format!(
        "/networks{}",
        query(&[("filters", serde_json::to_string(&filters).unwrap_or_default())])
    );
    let mut networks: Vec<Value> = c.json(Method::GET, &path, Body::Empty)?;
    networks.sort_by(|x, y| {
        natural_cmp(
            x["Name"].as_str().unwrap_or_default(),
            y["Name"].as_str().unwrap_or_default(),
        )
    });
    let rows: Vec<Value> = networks.iter().map(|n| row(n, a.no_trunc)).collect();
    let format = match (a.format.as_deref(), a.quiet) {
        (None | Some("") | Some("table"), true) => Some("{{.ID}}"),
        (f, _) => f,
    };
    print!(
        "{}",
        output::render(format, DEFAULT_TABLE, HEADERS, &rows, "*network.networkContext")?
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        let n = json!({"Id": "0123456789abcdef", "Name": "front", "Driver": "bridge", "Scope": "local",
                       "Internal": true, "Labels": {"a": "1", "b": ""}, "Created": "2024-05-06T07:08:09.5Z"});
        let r = row(&n, false);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Internal"], "true");
        assert_eq!(r["IPv6"], "false");
        assert_eq!(r["Labels"], "a=1,b=");
        assert_eq!(r["CreatedAt"], "2024-05-06 07:08:09.5 +0000 UTC");
        assert_eq!(row(&n, true)["ID"], "0123456789abcdef");
        assert_eq!(go_time("2024-05-06T07:08:09Z"), "2024-05-06 07:08:09 +0000 UTC");
    }
}
