//! The exec helper: one small process per `exec` started for a caller that must not fork without exec (the
//! multi-threaded daemon), as the shim is for a container start. It is started as
//! `berth __exec <data-root> <exec-root> <container-id>` with a connected unix socket to its client on fd 3 and
//! stdio on /dev/null; see [`crate::Engine::spawn_exec`] for the starting side.
//!
//! It daemonizes like the shim (its starter reaps the short-lived parent at once; its own session keeps terminal
//! signals aimed at the starter away), then speaks [`crate::attach`]'s frames on the socket. The client sends
//! [`Kind::Exec`] with the request as JSON (on the socket rather than in argv, where any local user could read the
//! environment it carries, and free of argv's size limit) and its hello. The helper starts the process through
//! [`Engine::exec`] and answers with the start report ([`Kind::Started`] with the pid, or [`Kind::StartFailed`] with
//! Docker's exit code, the HTTP status and the message), then sends the process's output (Stdout/Stderr frames;
//! everything is Stdout with a tty) while it takes Stdin, CloseStdin and Resize frames, and last [`Kind::Exit`] with
//! the exit code (128 + signal when killed). When the client goes away (a detached exec, or a dead daemon) the
//! process runs on to completion: its output is discarded and its stdin closed.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use berth_runtime::Spawned;
use serde::{Deserialize, Serialize};

use crate::attach::{self, Kind};
use crate::engine::{Engine, EngineOptions};
use crate::error::{Error, Result};
use crate::ops::exec::ExecRequest;
use crate::paths::Paths;
use crate::shim;
use crate::shim::pump::Pump;
use crate::shim::stdio::{self, Pending};

/// The argv[1] that selects exec helper mode.
pub const COMMAND: &str = "__exec";

/// What to run and how, handed from the starter to the helper.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub exec: ExecRequest,
    /// Whether the process gets a stdin the client writes to (else /dev/null, or a terminal nobody types on).
    pub stdin: bool,
    /// Initial terminal size (rows, cols) with `exec.tty`.
    pub console_size: Option<(u16, u16)>,
    /// The starter's storage driver (`overlay2` or `vfs`), so the helper's engine needs no probe.
    pub storage_driver: String,
    pub cgroup_parent: String,
}

/// Entry point of exec helper mode; `args` are the arguments after `__exec`. Returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let [data_root, exec_root, id] = args else {
        eprintln!("berth: exec helper: bad arguments");
        return 125;
    };
    // SAFETY: the starter placed the client socket on fd 3; nothing else in this fresh process owns it.
    let client = unsafe { OwnedFd::from_raw_fd(3) };
    let _ = rustix::io::fcntl_setfd(&client, rustix::io::FdFlags::CLOEXEC);
    // Whatever else the starter left open (a daemon's other connections) must not be held for the exec's lifetime.
    // SAFETY: descriptors from 4 up belong to nobody in this fresh process.
    unsafe { libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) };
    if !shim::daemonize() {
        return 0;
    }
    let paths = Paths::new(data_root, exec_root);
    run(paths, id, UnixStream::from(client))
}

/// Reads the request, starts the process, reports the start, pumps its I/O until it exits and reports the exit.
fn run(paths: Paths, id: &str, mut client: UnixStream) -> i32 {
    let request = match attach::read_frame(&mut client) {
        Ok(Some((Kind::Exec, payload))) => serde_json::from_slice::<Request>(&payload).ok(),
        _ => None,
    };
    let Some(request) = request else {
        return report_failure(&mut client, &Error::Runtime("exec helper: bad request".into()));
    };
    let (mut spawned, pending) = match start(paths, id, &request) {
        Ok(s) => s,
        Err(e) => return report_failure(&mut client, &e),
    };
    let plumbing = match pending.complete(&mut spawned) {
        Ok(p) => p,
        Err(e) => {
            let _ = rustix::process::pidfd_send_signal(&spawned.pidfd, rustix::process::Signal::KILL);
            reap(&spawned);
            return report_failure(&mut client, &Error::io("set up exec terminal", e));
        }
    };
    // A client already gone is a detached exec: the process runs on all the same.
    let _ = attach::write_frame(&mut client, Kind::Started, &attach::started_payload(spawned.pid));
    let mut pump = Pump::new(plumbing, None, vec![client.into()], None);
    pump.set_stdin_once();
    // Only the pump runs from here on: free what the request holds before the pump trims the heap.
    drop(request);
    pump.run(spawned.pidfd.as_fd());
    let code = reap(&spawned);
    pump.finish(code, false);
    0
}

/// Opens the engine and starts the process with the supervising side of its stdio. Out of line, so that its large
/// frame lies below the pump's and its stack pages are released with the rest of the setup's.
#[inline(never)]
fn start(paths: Paths, id: &str, request: &Request) -> Result<(Spawned, Pending)> {
    let engine = Engine::open(EngineOptions {
        paths,
        storage_driver: request.storage_driver.parse()?,
        cgroup_parent: request.cgroup_parent.clone(),
        network: Default::default(),
        registry: Default::default(),
    })?;
    let (io, pending) = stdio::prepare(request.exec.tty, request.stdin, request.console_size)
        .map_err(|e| Error::io("set up exec stdio", e))?;
    let spawned = engine.exec(id, &request.exec, io)?;
    Ok((spawned, pending))
}

fn report_failure(client: &mut UnixStream, e: &Error) -> i32 {
    let payload = attach::start_failed_payload(e.exit_code(), e.http_status(), &e.to_string());
    let _ = attach::write_frame(client, Kind::StartFailed, &payload);
    e.exit_code()
}

/// Reaps the process; returns its exit code (128 + signal when killed).
fn reap(spawned: &Spawned) -> i32 {
    let status = rustix::process::waitid(
        rustix::process::WaitId::PidFd(spawned.pidfd.as_fd()),
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
