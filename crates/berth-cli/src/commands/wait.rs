//! `berth wait`: print each container's exit code once it stops.

use berth_api::Method;
use berth_api::client::{Body, Client, segment};
use clap::Args;
use serde_json::Value;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(c: &Client, a: WaitArgs) -> CmdResult {
    super::each_reporting(&a.containers, |name| {
        let v: Value = c.json(
            Method::POST,
            &format!("/containers/{}/wait", segment(name)),
            Body::Empty,
        )?;
        println!("{}", v["StatusCode"].as_i64().unwrap_or(255));
        Ok(())
    })
}
