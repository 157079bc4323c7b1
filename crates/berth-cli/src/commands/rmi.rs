//! `berth rmi`: untag and delete images, printing Docker's Untagged/Deleted lines.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;
use serde_json::Value;

use crate::error::CmdResult;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// Prints one rmi/prune event.
/// Prints one entry of a removal report (`{"Untagged": …}` or `{"Deleted": …}`).
pub fn print_event(ev: &Value) {
    if let Some(r) = ev["Untagged"].as_str() {
        println!("Untagged: {r}");
    }
    if let Some(d) = ev["Deleted"].as_str() {
        println!("Deleted: {d}");
    }
}

pub fn run(c: &Client, a: RmiArgs) -> CmdResult {
    let q = query(&[
        ("force", a.force.to_string()),
        ("noprune", a.no_prune.to_string()),
    ]);
    super::each_reporting(&a.images, |name| {
        let events: Vec<Value> = c.json(
            Method::DELETE,
            &format!("/images/{}{q}", segment(name)),
            Body::Empty,
        )?;
        events.iter().for_each(print_event);
        Ok(())
    })
}
