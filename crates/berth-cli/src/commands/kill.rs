//! `berth kill`.

use berth_engine::Engine;
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

pub fn run(e: &Engine, a: KillArgs) -> CmdResult {
    super::each(&a.containers, |name| e.kill(name, Some(&a.signal)))
}
