//! `berth start`: start stopped containers; `-a` attaches like `run`.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;

use crate::error::{CmdResult, Failure};
use crate::relay::RelayOpts;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Containers to start
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(e: &Client, a: StartArgs) -> CmdResult {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(Failure::engine(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let c = super::inspect::container_json(e, &a.containers[0])?;
        let id = c["Id"].as_str().unwrap_or_default();
        let opts = RelayOpts {
            stdin: a.interactive && c["Config"]["OpenStdin"].as_bool().unwrap_or(false),
            tty: c["Config"]["Tty"].as_bool().unwrap_or(false),
            sig_proxy: true,
        };
        let auto_remove = c["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false);
        return super::run::attached_start(e, id, &opts, auto_remove);
    }
    super::each(&a.containers, |name| {
        e.call(
            Method::POST,
            &format!("/containers/{}/start", segment(name)),
            Body::Empty,
        )
        .map(|_| ())
    })
}
