//! `berth stop` and `berth restart`.

use berth_engine::Engine;
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

pub fn run(e: &Engine, a: StopArgs, restart: bool) -> CmdResult {
    super::each(&a.containers, |name| {
        if restart {
            e.restart(name, a.time)
        } else {
            e.stop(name, a.time, a.signal.as_deref())
        }
    })
}
