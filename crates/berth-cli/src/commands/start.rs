//! `berth start`: start stopped containers; `-a` attaches like `run`.

use berth_engine::Engine;
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

pub fn run(e: &Engine, a: StartArgs) -> CmdResult {
    e.warm_up_start();
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(Failure::engine(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let c = e.inspect(&a.containers[0])?;
        let opts = RelayOpts {
            stdin: a.interactive,
            tty: c.config.tty,
            sig_proxy: true,
        };
        return super::run::attached_start(e, &c.id, &opts);
    }
    super::each(&a.containers, |name| {
        e.start(name, Default::default()).map(|_| ())
    })
}
