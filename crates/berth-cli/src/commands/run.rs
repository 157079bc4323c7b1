//! `berth run`: create and start a container; attached (the default) it relays the container's stdio and exits with
//! its exit code; with `-d` it prints the id and leaves the container running under its shim.

use std::os::unix::net::UnixStream;

use berth_engine::{Engine, StartOptions};
use clap::Args;

use super::container_opts::ContainerOpts;
use crate::error::{CmdResult, Failure};
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

pub fn run(e: &Engine, a: RunArgs) -> CmdResult {
    e.warm_up_start();
    let id = super::create::create(e, &a.opts, &a.args)?;
    if a.detach {
        e.start(&id, StartOptions::default())?;
        println!("{id}");
        return Ok(0);
    }
    let opts = RelayOpts {
        stdin: a.opts.interactive,
        tty: a.opts.tty,
        sig_proxy: a.sig_proxy,
    };
    attached_start(e, &id, &opts)
}

/// Starts container `id` with this process attached, and relays until it exits; returns its exit code.
pub fn attached_start(e: &Engine, id: &str, opts: &RelayOpts) -> CmdResult {
    let (mut client, shim_end) = UnixStream::pair()?;
    relay::hello(&mut client, opts)?;
    let signals = relay::catch_signals()?;
    let console_size = if opts.tty { terminal::size() } else { None };
    e.start(
        id,
        StartOptions {
            attach: vec![shim_end.into()],
            console_size,
        },
    )?;
    let forward = |sig: i32| {
        let _ = e.kill(id, Some(&sig.to_string()));
    };
    match relay::run(client, &signals, opts, &forward)? {
        Some(code) => Ok(code),
        None => e.wait(id).map_err(Failure::from),
    }
}
