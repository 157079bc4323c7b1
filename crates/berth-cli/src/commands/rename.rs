//! `berth rename`.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub fn run(c: &Client, a: RenameArgs) -> CmdResult {
    let path = format!(
        "/containers/{}/rename{}",
        segment(&a.container),
        query(&[("name", a.new_name.clone())])
    );
    c.call(Method::POST, &path, Body::Empty)?;
    Ok(0)
}
