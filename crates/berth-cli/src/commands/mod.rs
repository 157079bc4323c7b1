//! One module per verb; each turns parsed arguments into Engine API calls and prints what Docker prints.

pub mod container_opts;
pub mod create;
pub mod daemon;
pub mod exec;
pub mod image;
pub mod images;
pub mod import;
pub mod inspect;
pub mod kill;
pub mod login;
pub mod logs;
pub mod manifest;
pub mod network;
pub mod network_opts;
pub mod pause;
pub mod port;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod search;
pub mod start;
pub mod stop;
pub mod tag;
pub mod top;
pub mod wait;

use crate::error::{CmdResult, Failure};

/// Applies `f` to each named container as Docker's multi-container verbs do: print the name on success, report each
/// failure on one line of stderr, and fail if any did (the last failure becomes the command's error).
pub(crate) fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), berth_api::Error>) -> CmdResult {
    each_reporting(names, |name| {
        f(name)?;
        println!("{name}");
        Ok(())
    })
}

/// Like [`each`], with `f` printing what a success shows (an exit code, rmi's Untagged/Deleted lines).
pub(crate) fn each_reporting(
    names: &[String],
    mut f: impl FnMut(&str) -> Result<(), berth_api::Error>,
) -> CmdResult {
    let mut last: Option<Failure> = None;
    for name in names {
        if let Err(e) = f(name)
            && let Some(previous) = last.replace(e.into())
        {
            eprintln!("berth: {previous}");
        }
    }
    last.map_or(Ok(0), Err)
}
