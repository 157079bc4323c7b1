//! `berth rm`.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(c: &Client, a: RmArgs) -> CmdResult {
    let q = query(&[("force", a.force.to_string()), ("v", a.volumes.to_string())]);
    super::each(&a.containers, |name| {
        c.call(
            Method::DELETE,
            &format!("/containers/{}{q}", segment(name)),
            Body::Empty,
        )
        .map(|_| ())
    })
}
