//! `berth ps`: list containers, with Docker's filters, columns and `--format`.

use berth_engine::Engine;
use berth_engine::model::{Container, Status};
use clap::Args;
use serde_json::{Value, json};

use crate::error::{CmdResult, Failure};
use berth_engine::timefmt::{human_duration, secs_since};

use crate::format::ellipsis;
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
    "status", "name", "id", "label", "exited", "ancestor", "before", "since",
];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
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

/// One filter, parsed.
struct Filter {
    key: String,
    value: String,
}

fn matches(c: &Container, f: &Filter) -> bool {
    match f.key.as_str() {
        "status" => c.state.status.as_str() == f.value,
        "name" => c.bare_name().contains(f.value.trim_start_matches('/')),
        "id" => c.id.starts_with(&f.value),
        "exited" => c.state.status == Status::Exited && c.state.exit_code.to_string() == f.value,
        "ancestor" => c.config.image == f.value || c.image.contains(&f.value),
        "label" => {
            let labels = c.config.labels.as_ref();
            match f.value.split_once('=') {
                Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == v),
                None => labels.is_some_and(|l| l.contains_key(&f.value)),
            }
        }
        _ => true,
    }
}

fn row(c: &Container, no_trunc: bool) -> Value {
    let mut command = c.path.clone();
    for a in &c.args {
        command.push(' ');
        command.push_str(a);
    }
    let command = if no_trunc {
        format!("\"{command}\"")
    } else {
        format!("\"{}\"", ellipsis(&command, 20))
    };
    let id = if no_trunc {
        c.id.clone()
    } else {
        c.id[..12].to_string()
    };
    let created = berth_engine::timefmt::parse(&c.created)
        .and_then(|n| time::OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default();
    let labels = c
        .config
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": id,
        "Image": if c.config.image.is_empty() { c.image.clone() } else { c.config.image.clone() },
        "Command": command,
        "CreatedAt": created,
        "RunningFor": format!("{} ago", human_duration(secs_since(&c.created))),
        "Ports": "",
        "State": c.state.status.as_str(),
        "Status": c.status_text(),
        "Size": "0B",
        "Names": c.bare_name(),
        "Labels": labels,
        "Mounts": c.mounts.iter().map(|m| m.destination.clone()).collect::<Vec<_>>().join(","),
        "Networks": c.host_config.network_mode,
    })
}

pub fn run(e: &Engine, a: PsArgs) -> CmdResult {
    let mut filters = Vec::new();
    for f in &a.filter {
        let Some((key, value)) = opts::parse_filter(f, FILTERS).map_err(|m| Failure {
            message: m.to_string(),
            code: 1,
        })?
        else {
            continue;
        };
        if key == "status" && !STATUSES.contains(&value.as_str()) {
            return Err(Failure {
                message: format!("invalid filter 'status={value}'"),
                code: 1,
            });
        }
        filters.push(Filter { key, value });
    }
    let show_all =
        a.all || a.latest || a.last > 0 || filters.iter().any(|f| f.key == "status" || f.key == "exited");
    let mut containers = e.list(show_all)?;
    containers.retain(|c| filters.iter().all(|f| matches(c, f)));
    let limit = if a.latest { 1 } else { a.last };
    if limit >= 0 {
        containers.truncate(limit as usize);
    }
    if a.quiet {
        for c in &containers {
            println!("{}", if a.no_trunc { &c.id[..] } else { &c.id[..12] });
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
