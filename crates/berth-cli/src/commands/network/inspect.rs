//! `berth network inspect`: the networks as a JSON array (with their containers), or through a `-f` template.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;
use serde_json::Value;

use crate::commands::inspect::print_objects;
use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short, long)]
    pub verbose: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

pub fn run(c: &Client, a: InspectArgs) -> CmdResult {
    let mut objects = Vec::new();
    let mut errors: Vec<Failure> = Vec::new();
    for name in &a.names {
        let path = format!("/networks/{}?verbose={}", segment(name), a.verbose);
        match c.json::<Value>(Method::GET, &path, Body::Empty) {
            Ok(v) => objects.push(v),
            Err(e) => errors.push(e.into()),
        }
    }
    // Like Docker, what was found is printed first, then what was not.
    print_objects(objects, a.format.as_deref())?;
    let last = errors.pop();
    for e in errors {
        eprintln!("berth: {e}");
    }
    last.map_or(Ok(0), Err)
}
