//! `berth wait`: print each container's exit code once it stops.

use berth_engine::Engine;
use clap::Args;

use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn run(e: &Engine, a: WaitArgs) -> CmdResult {
    let mut failed = None;
    for name in &a.containers {
        match e.wait(name) {
            Ok(code) => println!("{code}"),
            Err(err) => {
                eprintln!("berth: {err}");
                failed = Some(Failure {
                    message: "one or more containers failed".into(),
                    code: 1,
                });
            }
        }
    }
    failed.map_or(Ok(0), Err)
}
