//! `berth exec`: run a command in a running container (an exec instance created, then started on a hijacked
//! connection that carries its output and our input), and exit with its exit code.

use berth_api::Method;
use berth_api::client::{Body, Client, query, segment};
use clap::Args;
use serde_json::{Value, json};

use crate::error::{CmdResult, Failure};
use crate::relay::{self, RelayOpts};
use crate::{opts, terminal};

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// CONTAINER COMMAND [ARG...]
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER")]
    pub args: Vec<String>,
}

pub fn run(c: &Client, a: ExecArgs) -> CmdResult {
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(
            opts::parse_env_file(std::path::Path::new(f)).map_err(|e| Failure::engine(e.to_string()))?,
        );
    }
    for v in &a.env {
        env.push(opts::parse_env(v).map_err(|e| Failure::engine(e.to_string()))?);
    }
    let tty = a.tty && !a.detach;
    let config = json!({
        "AttachStdin": a.interactive && !a.detach,
        "AttachStdout": !a.detach,
        "AttachStderr": !a.detach,
        "Tty": tty,
        "Env": env,
        "Cmd": &a.args[1..],
        "User": a.user.clone().unwrap_or_default(),
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Privileged": a.privileged,
    });
    let created: Value = c.json(
        Method::POST,
        &format!("/containers/{}/exec", segment(&a.args[0])),
        Body::json(&config),
    )?;
    let id = created["Id"].as_str().unwrap_or_default().to_string();
    if a.detach {
        c.call(
            Method::POST,
            &format!("/exec/{id}/start"),
            Body::json(&json!({"Detach": true})),
        )?;
        return Ok(0);
    }
    let size = if tty { terminal::size() } else { None };
    let signals = relay::catch_signals()?;
    let start = json!({"Detach": false, "Tty": tty, "ConsoleSize": size.map(|(r, w)| [r, w])});
    let conn = c.hijack(&format!("/exec/{id}/start"), Body::json(&start))?;
    let resize = |rows: u16, cols: u16| {
        let path = format!(
            "/exec/{id}/resize{}",
            query(&[("h", rows.to_string()), ("w", cols.to_string())])
        );
        let _ = c.call(Method::POST, &path, Body::Empty);
    };
    let opts = RelayOpts {
        stdin: a.interactive,
        tty,
        sig_proxy: false,
    };
    relay::run(conn, &signals, &opts, &resize, &|_| {})?;
    let info: Value = c.json(Method::GET, &format!("/exec/{id}/json"), Body::Empty)?;
    Ok(info["ExitCode"].as_i64().unwrap_or(0) as i32)
}
