//! `berth tag`.

use berth_engine::Engine;
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    pub source: String,
    /// TARGET_IMAGE[:TAG]
    pub target: String,
}

pub fn run(e: &Engine, a: TagArgs) -> CmdResult {
    e.images().tag(&a.source, &a.target)?;
    Ok(0)
}
