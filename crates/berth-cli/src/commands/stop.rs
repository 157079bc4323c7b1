//! `berth stop` and `berth restart`.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i32>,
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(c: &Client, a: StopArgs, restart: bool) -> CmdResult {
    let mut params = Vec::new();
    if let Some(t) = a.time {
        params.push(("t", t.to_string()));
    }
    if let Some(s) = &a.signal {
        params.push(("signal", s.clone()));
    }
    let verb = if restart { "restart" } else { "stop" };
    super::each(&a.containers, |name| {
        let path = format!("/containers/{}/{verb}{}", segment(name), query(&params));
        c.call(Method::POST, &path, Body::Empty).map(|_| ())
    })
}
