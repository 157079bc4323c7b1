//! `berth rename`.

use berth_engine::Engine;
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub fn run(e: &Engine, a: RenameArgs) -> CmdResult {
    e.rename(&a.container, &a.new_name)?;
    Ok(0)
}
