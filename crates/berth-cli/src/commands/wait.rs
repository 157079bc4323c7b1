//! `berth wait`: print each container's exit code once it stops.

use berth_engine::Engine;
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(e: &Engine, a: WaitArgs) -> CmdResult {
    super::each_reporting(&a.containers, |name| {
        println!("{}", e.wait(name)?);
        Ok(())
    })
}
