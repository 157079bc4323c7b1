//! `berth create`: create a container and print its id.

use berth_engine::Engine;
use clap::Args;

use super::container_opts::ContainerOpts;
use crate::error::CmdResult;

#[derive(Debug, Args)]
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

/// Creates the container described by `opts` for `args` (image then command), printing Docker's notice when the
/// image is missing.
pub fn create(e: &Engine, opts: &ContainerOpts, args: &[String]) -> Result<String, crate::error::Failure> {
    let req = opts.to_request(&args[0], &args[1..])?;
    match e.create(req) {
        Ok(resp) => Ok(resp.id),
        Err(err @ berth_engine::Error::Image(_)) if err.http_status() == 404 => {
            let shown = berth_image::reference::Reference::parse(&args[0])
                .map(|r| r.familiar())
                .unwrap_or_else(|_| args[0].clone());
            eprintln!("Unable to find image '{shown}' locally");
            Err(err.into())
        }
        Err(err) => Err(err.into()),
    }
}

pub fn run(e: &Engine, a: CreateArgs) -> CmdResult {
    let id = create(e, &a.opts, &a.args)?;
    println!("{id}");
    Ok(0)
}
