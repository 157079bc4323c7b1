//! `berth create`: create a container and print its id.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use berth_image::Reference;
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

/// Creates the container described by `opts` for `args` (image then command). An image that is not there is
/// pulled first, as Docker's CLI does: a note on stderr, the pull's progress there too, then the create again.
pub fn create(c: &Client, opts: &ContainerOpts, args: &[String]) -> Result<String, crate::error::Failure> {
    let req = opts.to_request(&args[0], &args[1..])?;
    let params: Vec<(&str, String)> = req.name.iter().map(|n| ("name", n.clone())).collect();
    let path = format!("/containers/create{}", query(&params));
    let created: Value = match c.json(Method::POST, &path, Body::json(&req)) {
        Err(e)
            if e.status.as_u16() == 404
                && e.message.starts_with("No such image")
                && !is_image_id(&args[0]) =>
        {
            let shown = Reference::parse(&args[0]).map_or_else(|_| args[0].clone(), |r| r.familiar());
            eprintln!("Unable to find image '{shown}' locally");
            super::pull::pull(
                c,
                &args[0],
                opts.platform.as_deref(),
                false,
                crate::progress::Output::Stderr,
            )?;
            c.json(Method::POST, &path, Body::json(&req))?
        }
        r => r?,
    };
    Ok(created["Id"].as_str().unwrap_or_default().to_string())
}

/// `sha256:<hex>` or 64 hex digits: an image id, which Docker's CLI never tries to pull.
fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn run(e: &Client, a: CreateArgs) -> CmdResult {
    let id = create(e, &a.opts, &a.args)?;
    println!("{id}");
    Ok(0)
}
