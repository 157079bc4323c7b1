//! `berth pause` and `berth unpause`.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(c: &Client, a: PauseArgs, pause: bool) -> CmdResult {
    let verb = if pause { "pause" } else { "unpause" };
    super::each(&a.containers, |name| {
        c.call(
            Method::POST,
            &format!("/containers/{}/{verb}", segment(name)),
            Body::Empty,
        )
        .map(|_| ())
    })
}
