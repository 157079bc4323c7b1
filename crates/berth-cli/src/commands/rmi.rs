//! `berth rmi`: untag and delete images, printing Docker's Untagged/Deleted lines.

use berth_engine::Engine;
use berth_image::RemoveEvent;
use clap::Args;

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
pub fn print_event(ev: &RemoveEvent) {
    match ev {
        RemoveEvent::Untagged(r) => println!("Untagged: {r}"),
        RemoveEvent::Deleted(d) => println!("Deleted: {}", d.as_str()),
    }
}

pub fn run(e: &Engine, a: RmiArgs) -> CmdResult {
    super::each_reporting(&a.images, |name| {
        e.remove_image(name, a.force)?.iter().for_each(print_event);
        Ok(())
    })
}
