//! `berth create`: create a container and print its id.

use berth_engine::Engine;
use clap::Args;

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
pub fn create(e: &Engine, opts: &ContainerOpts, args: &[String]) -> Result<String, crate::error::Failure> {
    let req = opts.to_request(&args[0], &args[1..])?;
    Ok(e.create(req)?.id)
}

pub fn run(e: &Engine, a: CreateArgs) -> CmdResult {
    let id = create(e, &a.opts, &a.args)?;
    println!("{id}");
    Ok(0)
}
