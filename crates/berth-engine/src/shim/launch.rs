//! Starting a shim: spawn `berth __shim …` with the status pipe (and an attach socket) on fixed descriptors, reap
//! its short-lived parent, and read how the container start went.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::{COMMAND, Launch, MAX_CLIENTS, StartStatus};
use crate::error::{Error, Result};
use crate::paths::Paths;

/// Starts the shim for container `id` with its first clients (on fds 4, 5, …) and waits until the container runs;
/// returns its pid.
pub fn start(paths: &Paths, id: &str, launch: &Launch, clients: Vec<OwnedFd>) -> Result<i32> {
    let (status_r, status_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Error::io("create shim status pipe", e.into()))?;
    let launch_json = serde_json::to_string(launch).map_err(|e| Error::Runtime(e.to_string()))?;
    // The shim outlives its starter: it must hold none of the starter's stdio open (a caller reading our output to
    // the end would wait for the container). What it has to say goes to a log beside the container's runtime files.
    let shim_log = std::fs::File::create(paths.runtime_dir(id).join("shim.log"))
        .map_err(|e| Error::io("create shim log", e))?;
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg(COMMAND)
        .arg(&paths.data_root)
        .arg(&paths.exec_root)
        .arg(id)
        .arg(launch_json)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(shim_log));
    if !clients.is_empty() {
        cmd.arg("--attach").arg(clients.len().to_string());
    }
    // Source descriptors in one fixed array, so the child needs no allocation: status first, then the clients.
    let mut sources = [-1; 1 + MAX_CLIENTS];
    if clients.len() > MAX_CLIENTS {
        return Err(Error::InvalidArgument(format!(
            "at most {MAX_CLIENTS} clients can attach before a start"
        )));
    }
    sources[0] = status_w.as_raw_fd();
    for (slot, c) in sources[1..].iter_mut().zip(&clients) {
        *slot = c.as_raw_fd();
    }
    let count = 1 + clients.len();
    // SAFETY: only async-signal-safe calls (fcntl, dup2, close) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Move every source above the targets first, so no dup2 overwrites a source not yet placed.
            let mut high = [-1; 1 + MAX_CLIENTS];
            for i in 0..count {
                high[i] = libc::fcntl(sources[i], libc::F_DUPFD, 3 + MAX_CLIENTS as i32 + 1);
                if high[i] < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for (i, fd) in high.iter().take(count).enumerate() {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(*fd);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| Error::io("start shim", e))?;
    drop(status_w);
    drop(clients);
    let _ = child.wait();
    let mut buf = Vec::new();
    std::fs::File::from(status_r)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("read shim status", e))?;
    let status: StartStatus = serde_json::from_slice(&buf)
        .map_err(|_| Error::Runtime("container shim exited before starting the container".into()))?;
    match status.error {
        None => Ok(status.pid),
        Some((127, msg)) => Err(Error::CommandNotFound(msg)),
        Some((126, msg)) => Err(Error::CannotInvoke(msg)),
        Some((_, msg)) => Err(Error::Runtime(msg)),
    }
}
