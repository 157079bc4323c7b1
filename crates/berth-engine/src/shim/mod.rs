//! The shim: one small supervising process per running container (containerd-shim's role). It owns the container's
//! stdio (pipes or a pty), writes its json-file log, serves attach/wait clients on a unix socket, records the exit
//! code and time when the container ends, removes `--rm` containers, and outlives the CLI (or daemon) that started it.
//! It is single-threaded, so the runtime may fork from it.
//!
//! It is started as `berth __shim <data-root> <exec-root> <id> <launch JSON> [--attach N]` with the status pipe on fd 3
//! and its first N clients' sockets (attach clients, a daemon's exit monitor) on fds 4 .. 4+N; see [`launch`] for the
//! starting side.

pub mod dns;
pub mod launch;
pub(crate) mod pump;
pub(crate) mod stdio;
mod supervise;
pub mod trim;

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;

/// The argv[1] that selects shim mode.
pub const COMMAND: &str = "__shim";

/// Most clients a start can hand the shim (on fds 4, 5, …).
pub const MAX_CLIENTS: usize = 8;

/// How to start the container, handed from the starter to the shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    /// Overlay layers to mount as the root inside the container (top first); empty when the root is a plain dir.
    pub lower: Vec<PathBuf>,
    pub upper: Option<PathBuf>,
    pub work: Option<PathBuf>,
    pub init: bool,
    pub tty: bool,
    pub open_stdin: bool,
    /// Initial terminal size (rows, cols).
    pub console_size: Option<(u16, u16)>,
    pub auto_remove: bool,
    /// The embedded DNS server to run for a container on user networks.
    #[serde(default)]
    pub dns: Option<DnsLaunch>,
}

/// What the shim needs to serve DNS at 127.0.0.11 inside a container's network namespace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DnsLaunch {
    /// The container's network namespace (the server's socket is made inside it).
    pub netns: PathBuf,
    /// Names files of the user networks the container is on.
    pub tables: Vec<PathBuf>,
    /// Where unknown names are forwarded (from the host's namespace).
    pub upstreams: Vec<std::net::SocketAddr>,
}

/// What the shim tells its starter once the container runs (or failed to).
#[derive(Debug, Serialize, Deserialize)]
pub struct StartStatus {
    pub pid: i32,
    /// Set when the container could not start: (exit code, message).
    pub error: Option<(i32, String)>,
}

/// Entry point of shim mode; `args` are the arguments after `__shim`. Returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let [data_root, exec_root, id, launch, rest @ ..] = args else {
        eprintln!("berth: shim: bad arguments");
        return 125;
    };
    let Ok(launch) = serde_json::from_str::<Launch>(launch) else {
        eprintln!("berth: shim: bad launch description");
        return 125;
    };
    // `--attach N`: the starter placed N client sockets on fds 4 .. 4+N.
    let clients = match rest {
        [] => 0,
        [flag, n] if flag == "--attach" => match n.parse::<usize>() {
            Ok(n) if n <= MAX_CLIENTS => n,
            _ => {
                eprintln!("berth: shim: bad client count");
                return 125;
            }
        },
        _ => {
            eprintln!("berth: shim: bad arguments");
            return 125;
        }
    };
    // SAFETY: the starter placed the status pipe on fd 3 and the clients on the fds after it; nothing else in this
    // fresh process owns them.
    let status = unsafe { OwnedFd::from_raw_fd(3) };
    let clients: Vec<OwnedFd> = (0..clients)
        .map(|i| unsafe { OwnedFd::from_raw_fd(4 + i as i32) })
        .collect();
    for fd in std::iter::once(&status).chain(&clients) {
        let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
    }
    // Whatever else the starter's caller left open (a test harness's pipes, a jobserver) must not be held for the
    // container's lifetime.
    let first_free = 4 + clients.len() as u32;
    // SAFETY: descriptors above the clients belong to nobody in this fresh process.
    unsafe { libc::syscall(libc::SYS_close_range, first_free, u32::MAX, 0u32) };
    if !daemonize() {
        return 0;
    }
    let paths = Paths::new(data_root, exec_root);
    supervise::run(&paths, id, &launch, status, clients)
}

/// Forks so the shim (or an exec helper) is re-parented away from its starter (which reaps the short-lived parent at
/// once) and starts a session of its own, so terminal signals aimed at the starter do not reach it. Returns false in
/// the parent. The caller must be single-threaded.
pub(crate) fn daemonize() -> bool {
    // SAFETY: the caller is single-threaded; the child only continues the same single thread.
    match unsafe { libc::fork() } {
        0 => {
            let _ = rustix::process::setsid();
            true
        }
        _ => false,
    }
}
