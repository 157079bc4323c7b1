//! `berth create`: create a container and print its id.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::Value;

use super::container_opts::ContainerOpts;
use crate::error::CmdResult;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE"
    )]
    pub args: Vec<String>,
}

/// Creates the container described by `opts` for `args` (image then command).
pub fn create(c: &Client, opts: &ContainerOpts, args: &[String]) -> Result<String, crate::error::Failure> {
    let req = opts.to_request(&args[0], &args[1..])?;
    let params: Vec<(&str, String)> = req.name.iter().map(|n| ("name", n.clone())).collect();
    let created: Value = c.json(
        Method::POST,
        &format!("/containers/create{}", query(&params)),
        Body::json(&req),
    )?;
    Ok(created["Id"].as_str().unwrap_or_default().to_string())
}

pub fn run(e: &Client, a: CreateArgs) -> CmdResult {
    let id = create(e, &a.opts, &a.args)?;
    println!("{id}");
    Ok(0)
}
