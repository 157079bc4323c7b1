//! One module per verb; each turns parsed arguments into engine calls and prints what Docker prints.

pub mod container_opts;
pub mod create;
pub mod exec;
pub mod image;
pub mod images;
pub mod import;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod pause;
pub mod ps;
pub mod rename;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod start;
pub mod stop;
pub mod tag;
pub mod top;
pub mod wait;

use crate::error::{CmdResult, Failure};

/// Applies `f` to each named container as Docker's multi-container verbs do: print the name on success, report each
/// failure on stderr, and fail at the end if any did.
pub(crate) fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> Result<(), berth_engine::Error>,
) -> CmdResult {
    let mut last = None;
    for name in names {
        match f(name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("berth: {e}");
                last = Some(e);
            }
        }
    }
    match last {
        None => Ok(0),
        Some(e) => Err(Failure {
            message: "one or more containers failed".into(),
            code: e.exit_code().min(125),
        }),
    }
}
