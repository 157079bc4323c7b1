//! `berth exec`: run a command in a running container. This process is the command's parent: without a tty the
//! command writes straight to our stdout/stderr (no copying); with one, output is relayed from a pty.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use berth_engine::{Engine, ExecRequest};
use berth_runtime::{ProcessIo, Stdio};
use clap::Args;
use rustix::event::{PollFd, PollFlags, poll};

use crate::error::{CmdResult, Failure};
use crate::{opts, relay, terminal};

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

fn dup(fd: impl AsFd) -> std::io::Result<OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, 3)?)
}

pub fn run(e: &Engine, a: ExecArgs) -> CmdResult {
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(
            opts::parse_env_file(std::path::Path::new(f)).map_err(|e| Failure::engine(e.to_string()))?,
        );
    }
    for v in &a.env {
        env.push(opts::parse_env(v).map_err(|e| Failure::engine(e.to_string()))?);
    }
    let req = ExecRequest {
        cmd: a.args[1..].to_vec(),
        env,
        user: a.user.clone(),
        working_dir: a.workdir.clone(),
        tty: a.tty && !a.detach,
        privileged: a.privileged,
    };
    let container = &a.args[0];
    if a.detach {
        let null = || {
            File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
        };
        let io = ProcessIo::Pipes(Stdio {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
        });
        e.exec(container, &req, io)?;
        return Ok(0);
    }
    if req.tty {
        return exec_tty(e, container, &req, a.interactive);
    }
    let stdin = if a.interactive {
        dup(std::io::stdin())?
    } else {
        File::open("/dev/null")?.into()
    };
    let stdio = Stdio {
        stdin,
        stdout: dup(std::io::stdout())?,
        stderr: dup(std::io::stderr())?,
    };
    let spawned = e.exec(container, &req, ProcessIo::Pipes(stdio))?;
    Ok(wait_exit(&spawned.pidfd))
}

/// Waits for an exec'd child and returns its exit code (128 + signal when killed).
fn wait_exit(pidfd: &OwnedFd) -> i32 {
    let status = rustix::process::waitid(
        rustix::process::WaitId::PidFd(pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED,
    );
    match status {
        Ok(Some(s)) => s
            .exit_status()
            .or(s.terminating_signal().map(|sig| 128 + sig))
            .unwrap_or(255),
        _ => 255,
    }
}

fn exec_tty(e: &Engine, container: &str, req: &ExecRequest, interactive: bool) -> CmdResult {
    let signals = relay::catch_signals()?;
    let mut spawned = e.exec(
        container,
        req,
        ProcessIo::Terminal {
            size: terminal::size(),
        },
    )?;
    let master = spawned
        .console
        .take()
        .ok_or_else(|| Failure::engine("the runtime returned no terminal"))?;
    let _raw = interactive.then(terminal::RawMode::enter).flatten();
    let mut pty = File::from(master);
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin_open = interactive;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    loop {
        let stdin_fd = stdin.as_fd();
        let mut fds = vec![
            PollFd::new(&pty, PollFlags::IN),
            PollFd::new(&signals, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::new(&stdin_fd, PollFlags::IN));
        }
        if poll(&mut fds, None).is_err() {
            continue;
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[1].is_empty() {
            while let Ok(Some(_)) = signals.read_signal() {
                if let Some((rows, cols)) = terminal::size() {
                    let _ = berth_runtime::pty::set_window_size(pty.as_fd(), rows, cols);
                }
            }
        }
        if stdin_open && !ready[2].is_empty() {
            match stdin.lock().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => pty.write_all(&buf[..n])?,
            }
        }
        if !ready[0].is_empty() {
            match pty.read(&mut buf) {
                // EIO: the last holder of the pty's other side is gone.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    stdout.write_all(&buf[..n])?;
                    stdout.flush()?;
                }
            }
        }
    }
    Ok(wait_exit(&spawned.pidfd))
}
