//! `berth top`: the container's processes in `ps -ef` columns.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;

use crate::error::CmdResult;
use crate::template::tabwrite;

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
}

pub fn run(c: &Client, a: TopArgs) -> CmdResult {
    let top: berth_engine::Top = c.json(
        Method::GET,
        &format!("/containers/{}/top", segment(&a.container)),
        Body::Empty,
    )?;
    let mut rows = vec![top.titles];
    rows.extend(top.processes);
    print!("{}", tabwrite(&rows));
    Ok(0)
}
