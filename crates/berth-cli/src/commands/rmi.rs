//! `berth rmi`: untag and delete images, printing Docker's Untagged/Deleted lines.

use berth_engine::Engine;
use berth_image::RemoveEvent;
use clap::Args;

use crate::error::{CmdResult, Failure};

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
pub fn print_event(ev: &RemoveEvent) {
    match ev {
        RemoveEvent::Untagged(r) => println!("Untagged: {r}"),
        RemoveEvent::Deleted(d) => println!("Deleted: {}", d.as_str()),
    }
}

pub fn run(e: &Engine, a: RmiArgs) -> CmdResult {
    let mut last: Option<Failure> = None;
    for name in &a.images {
        match e.remove_image(name, a.force) {
            Ok(events) => events.iter().for_each(print_event),
            Err(err) => {
                if let Some(previous) = last.replace(err.into()) {
                    eprintln!("berth: {previous}");
                }
            }
        }
    }
    last.map_or(Ok(0), Err)
}
