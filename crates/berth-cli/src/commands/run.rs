//! `berth run`: create and start a container; attached (the default) it relays the container's stdio and exits with
//! its exit code; with `-d` it prints the id and leaves the container running under its shim.

use berth_api::Method;
use berth_api::client::{Body, Client, query};
use clap::Args;
use serde_json::Value;

use super::container_opts::ContainerOpts;
use crate::error::CmdResult;
use crate::relay::{self, RelayOpts};
use crate::terminal;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Proxy received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE"
    )]
    pub args: Vec<String>,
}

pub fn run(c: &Client, a: RunArgs) -> CmdResult {
    let id = super::create::create(c, &a.opts, &a.args)?;
    if a.detach {
        c.call(Method::POST, &format!("/containers/{id}/start"), Body::Empty)?;
        println!("{id}");
        return Ok(0);
    }
    let opts = RelayOpts {
        stdin: a.opts.interactive,
        tty: a.opts.tty,
        sig_proxy: a.sig_proxy,
    };
    attached_start(c, &id, &opts, a.opts.rm)
}

/// Starts container `id` with this process attached, as Docker's CLI does — attach, wait, start — and relays until
/// the stream ends; returns the exit code. `removed`: wait for the container's removal (`--rm`), not its exit.
pub fn attached_start(c: &Client, id: &str, opts: &RelayOpts, removed: bool) -> CmdResult {
    let mut params = vec![
        ("stream", "1".to_string()),
        ("stdout", "1".into()),
        ("stderr", "1".into()),
    ];
    if opts.stdin {
        params.push(("stdin", "1".into()));
    }
    let conn = c.hijack(&format!("/containers/{id}/attach{}", query(&params)), Body::Empty)?;
    let condition = if removed { "removed" } else { "next-exit" };
    let wait = c.begin(
        Method::POST,
        &format!("/containers/{id}/wait?condition={condition}"),
        Body::Empty,
    )?;
    let signals = relay::catch_signals()?;
    if let Err(e) = c.call(Method::POST, &format!("/containers/{id}/start"), Body::Empty) {
        if removed {
            let _ = wait.bytes();
        }
        return Err(e.into());
    }
    let resize = |rows: u16, cols: u16| {
        let path = format!(
            "/containers/{id}/resize{}",
            query(&[("h", rows.to_string()), ("w", cols.to_string())])
        );
        let _ = c.call(Method::POST, &path, Body::Empty);
    };
    if opts.tty
        && let Some((rows, cols)) = terminal::size()
    {
        resize(rows, cols);
    }
    let forward = |sig: i32| {
        let _ = c.call(
            Method::POST,
            &format!("/containers/{id}/kill?signal={sig}"),
            Body::Empty,
        );
    };
    relay::run(conn, &signals, opts, &resize, &forward)?;
    let status: Value = wait.json()?;
    Ok(status["StatusCode"].as_i64().unwrap_or(255) as i32)
}
