//! `berth pause` and `berth unpause`.

use berth_engine::Engine;
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(e: &Engine, a: PauseArgs, pause: bool) -> CmdResult {
    super::each(
        &a.containers,
        |name| if pause { e.pause(name) } else { e.unpause(name) },
    )
}
