//! `berth logs`: print a container's log, optionally following it.

use std::io::Write;

use berth_engine::Engine;
use berth_engine::logs::LogFilter;
use clap::Args;

use crate::error::{CmdResult, Failure};
use crate::opts;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    pub container: String,
}

pub fn run(e: &Engine, a: LogsArgs) -> CmdResult {
    let now = time::OffsetDateTime::now_utc();
    let time = |v: &Option<String>| -> Result<Option<i128>, Failure> {
        v.as_deref()
            .map(|s| {
                opts::parse_since(s, now).map(i128::from).map_err(|m| Failure {
                    message: m.to_string(),
                    code: 1,
                })
            })
            .transpose()
    };
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => None,
        },
    };
    let filter = LogFilter {
        stdout: true,
        stderr: true,
        since: time(&a.since)?,
        until: time(&a.until)?,
        tail,
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    e.logs(&a.container, &filter, a.follow, &mut |entry| {
        let line = if a.timestamps {
            format!("{} {}", entry.time, entry.log)
        } else {
            entry.log.clone()
        };
        if entry.stream == "stderr" {
            let mut err = stderr.lock();
            err.write_all(line.as_bytes())?;
            err.flush()
        } else {
            let mut out = stdout.lock();
            out.write_all(line.as_bytes())?;
            out.flush()
        }
    })?;
    Ok(0)
}
