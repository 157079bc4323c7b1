//! `berth network prune`: removes the user networks no container uses, after asking (unless `-f`) as Docker does.

use std::io::{BufRead, Write};

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::Value;

use crate::error::CmdResult;
use crate::opts;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.
Are you sure you want to continue? [y/N] ";

/// Docker's prompt: the question on stdout, one line of stdin; only "y" (any case) confirms.
fn confirmed() -> bool {
    let mut out = std::io::stdout();
    let _ = out.write_all(WARNING.as_bytes());
    let _ = out.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim().eq_ignore_ascii_case("y")
}

pub fn run(c: &Client, a: PruneArgs) -> CmdResult {
    let filters = opts::parse_filters(&a.filter, &["label", "label!", "until"])?;
    // A declined prompt ends the command quietly and successfully, as in Docker.
    if !a.force && !confirmed() {
        return Ok(0);
    }
    let path = format!(
        "/networks/prune{}",
        query(&[("filters", serde_json::to_string(&filters).unwrap_or_default())])
    );
    let report: Value = c.json(Method::POST, &path, Body::Empty)?;
    if let Some(deleted) = report["NetworksDeleted"].as_array().filter(|d| !d.is_empty()) {
        println!("Deleted Networks:");
        for name in deleted {
            println!("{}", name.as_str().unwrap_or_default());
        }
        println!();
    }
    Ok(0)
}
