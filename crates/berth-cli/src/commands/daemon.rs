//! `berth daemon`: serve the Docker Engine API on the `-H` addresses (default `<exec-root>/berth.sock`).

use berth_api::server::daemon::{self, DaemonOptions};
use berth_engine::EngineOptions;
use clap::Args;

use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Path to use for the daemon PID file
    #[arg(short, long)]
    pub pidfile: Option<String>,
    /// Enable debug mode (log every request)
    #[arg(short = 'D', long)]
    pub debug: bool,
}

pub fn run(engine: EngineOptions, hosts: Vec<String>, a: DaemonArgs) -> CmdResult {
    let level = if a.debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("berth_api={level},berth={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    daemon::run(DaemonOptions {
        engine,
        hosts,
        pidfile: a.pidfile.map(Into::into),
    })
    .map_err(|e| Failure::engine(e.message))?;
    Ok(0)
}
