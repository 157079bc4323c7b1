//! `spawn_exec`: exec for a caller that must not fork without exec (the multi-threaded daemon). The process is
//! started by an exec helper (`berth __exec`, see [`crate::exec_helper`]) and reached through a unix socket, as a
//! container is started by its shim.
//!
//! The helper daemonizes like the shim: this side reaps only its short-lived first process, so no zombie or reaper
//! thread is left in the caller however long the exec runs, and the exec survives the caller's death.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::attach::{self, Kind, hello};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::exec_helper::{self, Request};
use crate::ops::exec::ExecRequest;

/// How to attach to an exec started with [`Engine::spawn_exec`].
#[derive(Debug, Clone, Default)]
pub struct ExecSessionOptions {
    /// Give the process a stdin fed by Stdin frames (else /dev/null, or with a tty, a terminal nobody types on).
    pub stdin: bool,
    /// Initial terminal size (rows, cols) when the request has a tty.
    pub console_size: Option<(u16, u16)>,
    /// The berth binary to run as the helper; `None`: this process's own binary (`/proc/self/exe`), whose `main`
    /// must then hand argv[1] == [`exec_helper::COMMAND`] to [`exec_helper::main`], as berth's does.
    pub program: Option<PathBuf>,
}

/// A running exec. `stream` speaks [`crate::attach`]'s frames with the exec helper: Stdout and Stderr frames of the
/// process's output (everything is Stdout with a tty) and at the end one Exit frame (exit code, 128 + signal when
/// killed) come from it; Stdin, CloseStdin (the process's stdin is closed) and Resize frames go to it. Dropping the
/// stream detaches: the process runs on to completion, its output discarded and its stdin closed.
#[derive(Debug)]
pub struct ExecSession {
    pub stream: UnixStream,
    /// The process's pid (in the host's pid namespace).
    pub pid: i32,
}

impl Engine {
    /// Starts `req` in container `reference` through an exec helper; returns once the process runs, or with the
    /// error the helper reported (NotFound/Conflict for a container gone or stopped, CommandNotFound/CannotInvoke
    /// for 127/126). What can be checked here (a command is given, the container runs) is checked before any
    /// process is started.
    pub fn spawn_exec(
        &self,
        reference: &str,
        req: &ExecRequest,
        opts: ExecSessionOptions,
    ) -> Result<ExecSession> {
        let c = self.exec_target(reference, req)?;
        let request = Request {
            exec: req.clone(),
            stdin: opts.stdin,
            console_size: opts.console_size,
            storage_driver: self.images.driver().name().to_string(),
            cgroup_parent: self.opts.cgroup_parent.clone(),
        };
        let request = serde_json::to_vec(&request).map_err(|e| Error::Runtime(e.to_string()))?;
        let (mut stream, theirs) = UnixStream::pair().map_err(|e| Error::io("create exec socket", e))?;
        let paths = &self.opts.paths;
        let mut cmd = Command::new(opts.program.as_deref().unwrap_or(Path::new("/proc/self/exe")));
        cmd.arg(exec_helper::COMMAND)
            .arg(&paths.data_root)
            .arg(&paths.exec_root)
            .arg(&c.id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let fd = theirs.as_raw_fd();
        // SAFETY: only async-signal-safe calls (fcntl, dup2) run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 clears close-on-exec on the copy; a descriptor already at 3 needs it cleared by hand.
                let rc = if fd == 3 {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, 3)
                };
                if rc < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| Error::io("start exec helper", e))?;
        drop(theirs);
        let mut flags = hello::STDOUT | hello::STDERR;
        if opts.stdin {
            flags |= hello::STDIN;
        }
        // Sent once the helper runs, as a request larger than the socket's buffer needs its reader.
        let sent = attach::write_frame(&mut stream, Kind::Exec, &request)
            .and_then(|()| attach::write_frame(&mut stream, Kind::Hello, &[flags]));
        // The helper's first process exits as soon as it has forked the helper proper.
        let _ = child.wait();
        sent.map_err(|e| Error::io("send exec request", e))?;
        let pid = match attach::read_frame(&mut stream) {
            Ok(Some((Kind::Started, payload))) => attach::parse_started(&payload),
            Ok(Some((Kind::StartFailed, payload))) => {
                return Err(match attach::parse_start_failed(&payload) {
                    Some((code, status, message)) => start_error(code, status, message),
                    None => Error::Runtime("exec helper sent a malformed start report".into()),
                });
            }
            _ => None,
        };
        let pid =
            pid.ok_or_else(|| Error::Runtime("exec helper exited before starting the process".into()))?;
        Ok(ExecSession { stream, pid })
    }
}

/// The engine error behind a start failure the helper reported as (exit code, HTTP status, message).
fn start_error(code: i32, status: u16, message: String) -> Error {
    match (code, status) {
        (127, _) => Error::CommandNotFound(message),
        (126, _) => Error::CannotInvoke(message),
        (_, 404) => Error::NotFound(message),
        (_, 409) => Error::Conflict(message),
        (_, 400) => Error::InvalidArgument(message),
        _ => Error::Runtime(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_map_back_to_engine_errors() {
        for e in [
            Error::CommandNotFound("a".into()),
            Error::CannotInvoke("b".into()),
            Error::NotFound("c".into()),
            Error::Conflict("d".into()),
            Error::InvalidArgument("e".into()),
            Error::Runtime("f".into()),
        ] {
            let back = start_error(e.exit_code(), e.http_status(), e.to_string());
            assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&e));
            assert_eq!(back.to_string(), e.to_string());
        }
    }
}
