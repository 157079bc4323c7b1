//! `berth top`: the container's processes in `ps -ef` columns.

use berth_engine::Engine;
use clap::Args;

use crate::error::CmdResult;
use crate::template::tabwrite;

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
}

pub fn run(e: &Engine, a: TopArgs) -> CmdResult {
    let top = e.top(&a.container)?;
    let mut rows = vec![top.titles];
    rows.extend(top.processes);
    print!("{}", tabwrite(&rows));
    Ok(0)
}
