//! `berth logs`: print a container's log, optionally following it.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
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

pub fn run(c: &Client, a: LogsArgs) -> CmdResult {
    let now = time::OffsetDateTime::now_utc();
    let mut params = vec![
        ("stdout", "1".to_string()),
        ("stderr", "1".to_string()),
        ("follow", a.follow.to_string()),
        ("timestamps", a.timestamps.to_string()),
        ("tail", a.tail.clone()),
    ];
    for (key, value) in [("since", &a.since), ("until", &a.until)] {
        if let Some(v) = value {
            let nanos = opts::parse_since(v, now).map_err(|m| Failure {
                message: m.to_string(),
                code: 1,
            })?;
            let nanos = i128::from(nanos);
            params.push((
                key,
                format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000),
            ));
        }
    }
    let info = super::inspect::container_json(c, &a.container)?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let path = format!("/containers/{}/logs{}", segment(&a.container), query(&params));
    let mut body = c.begin(Method::GET, &path, Body::Empty)?;
    let mut demux = crate::relay::Demux::new(tty);
    while let Some(chunk) = body.chunk()? {
        demux.write(&chunk)?;
    }
    Ok(0)
}
