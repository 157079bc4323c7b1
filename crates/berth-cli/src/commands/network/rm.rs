//! `berth network rm`: removes each network named, printing its name; a failure is reported and the rest go on.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

pub fn run(c: &Client, a: RmArgs) -> CmdResult {
    crate::commands::each_reporting(&a.names, |name| {
        match c.call(
            Method::DELETE,
            &format!("/networks/{}", segment(name)),
            Body::Empty,
        ) {
            Ok(_) => println!("{name}"),
            Err(e) if a.force && e.status.as_u16() == 404 => {}
            Err(e) => return Err(e),
        }
        Ok(())
    })
}
