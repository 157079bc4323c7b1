//! `berth ps`: list containers, with Docker's filters, columns and `--format`.

use std::collections::BTreeMap;

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::{Value, json};

use crate::error::{CmdResult, Failure};
use berth_engine::timefmt::human_duration;

use crate::format::{ellipsis, go_time, labels_text};
use crate::{opts, output};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
}

const FILTERS: &[&str] = &[
    "status", "name", "id", "label", "exited", "ancestor", "before", "since", "network", "publish", "expose",
];

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("RunningFor", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("Size", "SIZE"),
];

fn row(c: &Value, no_trunc: bool) -> Value {
    let command = c["Command"].as_str().unwrap_or_default();
    let command = if no_trunc {
        format!("\"{command}\"")
    } else {
        format!("\"{}\"", ellipsis(command, 20))
    };
    let full_id = c["Id"].as_str().unwrap_or_default();
    let id = if no_trunc {
        full_id.to_string()
    } else {
        full_id.chars().take(12).collect()
    };
    let created = c["Created"].as_i64().unwrap_or(0);
    let created_at = time::OffsetDateTime::from_unix_timestamp(created)
        .map(go_time)
        .unwrap_or_default();
    let labels = labels_text(&c["Labels"]);
    let mounts = c["Mounts"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["Destination"].as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let name = c["Names"][0].as_str().unwrap_or_default().trim_start_matches('/');
    let now = berth_engine::timefmt::unix_nanos() / 1_000_000_000;
    json!({
        "ID": id,
        "Image": c["Image"],
        "Command": command,
        "CreatedAt": created_at,
        "RunningFor": format!("{} ago", human_duration(now as i64 - created)),
        "Ports": super::port::displayable(&c["Ports"]),
        "State": c["State"],
        "Status": c["Status"],
        "Size": "0B",
        "Names": name,
        "Labels": labels,
        "Mounts": mounts,
        "Networks": c["NetworkSettings"]["Networks"]
            .as_object()
            .map(|n| n.keys().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
    })
}

pub fn run(c: &Client, a: PsArgs) -> CmdResult {
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &a.filter {
        let Some((key, value)) = opts::parse_filter(f, FILTERS).map_err(|m| Failure {
            message: m.to_string(),
            code: 1,
        })?
        else {
            continue;
        };
        // Values (e.g. an unknown status) are checked by the API server, with Docker's messages.
        filters.entry(key).or_default().push(value);
    }
    let limit = if a.latest { 1 } else { a.last };
    let mut params = vec![
        ("all", a.all.to_string()),
        ("filters", serde_json::to_string(&filters).unwrap_or_default()),
    ];
    if limit > 0 {
        params.push(("limit", limit.to_string()));
    }
    let containers: Vec<Value> = c.json(
        Method::GET,
        &format!("/containers/json{}", query(&params)),
        Body::Empty,
    )?;
    if a.quiet {
        for c in &containers {
            let id = c["Id"].as_str().unwrap_or_default();
            println!("{}", if a.no_trunc { id } else { &id[..12.min(id.len())] });
        }
        return Ok(0);
    }
    let rows: Vec<Value> = containers.iter().map(|c| row(c, a.no_trunc)).collect();
    print!(
        "{}",
        output::render(
            a.format.as_deref(),
            DEFAULT_TABLE,
            HEADERS,
            &rows,
            "*formatter.ContainerContext"
        )?
    );
    Ok(0)
}
