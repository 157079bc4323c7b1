//! `berth kill`.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(c: &Client, a: KillArgs) -> CmdResult {
    let q = query(&[("signal", a.signal.clone())]);
    super::each(&a.containers, |name| {
        c.call(
            Method::POST,
            &format!("/containers/{}/kill{q}", segment(name)),
            Body::Empty,
        )
        .map(|_| ())
    })
}
