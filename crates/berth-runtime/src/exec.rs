//! Running another process in a running container (`docker exec`): an intermediate child joins the container's
//! cgroup and namespaces (a pid namespace applies to children only), then clones the final process with
//! CLONE_PARENT so that it is the caller's child, and passes its pid back. A terminal comes from the container's
//! devpts, opened by the caller through the container's root.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{Process, Spec};
use rustix::fs::{Mode, OFlags};

use crate::cgroups::{Cgroup, Hierarchy};
use crate::clone::{Cloned, clone3, exit_child, wait_pid};
use crate::error::{Context, SpawnError};
use crate::namespaces::{container_namespace_flags, setns};
use crate::process::{self, ProcessIo, Stdio};
use crate::pty::{self, Pty};
use crate::report;
use crate::seccomp::Program;
use crate::spawn::{Spawned, cgroups_path, seccomp_program};

/// What to run in which container.
#[derive(Debug)]
pub struct ExecRequest<'a> {
    /// The pid of the container's init process (in the caller's pid namespace).
    pub container_pid: i32,
    /// The container's spec: namespaces, seccomp profile and cgroup path come from it.
    pub spec: &'a Spec,
    /// The process to run: args, env, cwd, user, terminal, capabilities, no_new_privileges, rlimits.
    pub process: &'a Process,
    /// Pipes of the caller's, or a terminal (then `process.terminal` must be set).
    pub io: ProcessIo,
    pub seccomp_cache: &'a Path,
}

/// Starts a process inside a running container; returns once it runs (after a successful execve). The process
/// is a child of the caller, which must reap it. The caller must be single-threaded.
pub fn exec(req: ExecRequest<'_>) -> Result<Spawned, SpawnError> {
    let linux = req
        .spec
        .linux()
        .as_ref()
        .ok_or_else(|| SpawnError::InvalidSpec("missing linux section".into()))?;
    req.io.check(req.process)?;
    let ns_flags = container_namespace_flags(linux)?;
    let seccomp = seccomp_program(linux, req.seccomp_cache)?;
    let cgroup = match cgroups_path(linux)? {
        Some(path) => Some(Hierarchy::detect()?.open(path)?),
        None => None,
    };
    let target = rustix::process::Pid::from_raw(req.container_pid)
        .ok_or_else(|| SpawnError::InvalidSpec(format!("invalid container pid {}", req.container_pid)))?;
    let container = rustix::process::pidfd_open(target, rustix::process::PidfdFlags::empty())
        .ctx(|| format!("open container process {}", req.container_pid))?;
    let (stdio, console) = match req.io {
        ProcessIo::Pipes(stdio) => (stdio, None),
        ProcessIo::Terminal { size } => {
            let pty = container_terminal(req.container_pid, &container, size)?;
            (Stdio::terminal(pty.slave)?, Some(pty.master))
        }
    };
    let (err_read, err_write) = report::pipe()?;
    let (pid_read, pid_write) = report::pipe()?;

    // SAFETY: exec's contract: the caller is single-threaded.
    let intermediate = match unsafe { clone3(0, None) }.ctx(|| "fork".into())? {
        Cloned::Child => {
            drop(err_read);
            drop(pid_read);
            let helper = Helper {
                container: &container,
                ns_flags,
                cgroup: cgroup.as_ref(),
                pid_pipe: &pid_write,
                error_pipe: &err_write,
                process: req.process,
                stdio: &stdio,
                seccomp: seccomp.as_ref(),
            };
            let err = helper.run();
            report::send(&err_write, &err);
            exit_child(err.exit_code())
        }
        Cloned::Parent { pid, .. } => pid,
    };
    drop(err_write);
    drop(pid_write);
    drop(stdio);
    let reported = report::receive(err_read);
    let mut pid_bytes = Vec::with_capacity(4);
    let read_pid = std::fs::File::from(pid_read).read_to_end(&mut pid_bytes);
    wait_pid(intermediate).ctx(|| "wait for exec helper".into())?;
    let pid = match (read_pid, <[u8; 4]>::try_from(pid_bytes.as_slice())) {
        (Ok(_), Ok(bytes)) => Some(i32::from_ne_bytes(bytes)),
        _ => None,
    };
    match (reported, pid) {
        (Ok(None), Some(pid)) => {
            let pidfd = rustix::process::Pid::from_raw(pid)
                .map(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()))
                .ok_or_else(|| SpawnError::Container("invalid exec pid".into()))?
                .ctx(|| "open exec process".into())?;
            Ok(Spawned { pid, pidfd, console })
        }
        (Ok(None), None) => Err(SpawnError::Container(
            "exec helper exited without starting the process".into(),
        )),
        (Ok(Some(err)), pid) | (Err(err), pid) => {
            if let Some(pid) = pid {
                let _ = wait_pid(pid);
            }
            Err(err)
        }
    }
}

/// A new terminal of the devpts at /dev/pts in the container of process `pid` (whose pidfd is `pidfd`), reached
/// through /proc/<pid>/root.
fn container_terminal(pid: i32, pidfd: &OwnedFd, size: Option<(u16, u16)>) -> Result<Pty, SpawnError> {
    let root = rustix::fs::open(
        format!("/proc/{pid}/root"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open the root of container process {pid}"))?;
    // The pid still names the container's process after the open if the process is alive: the root is its root.
    // SAFETY: pidfd_send_signal with signal 0 (no signal) and no info.
    let alive = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), 0, 0, 0) } == 0;
    if !alive {
        return Err(std::io::Error::last_os_error()).ctx(|| format!("container process {pid}"));
    }
    pty::open_in(root.as_fd(), size).ctx(|| "open terminal".into())
}

/// The intermediate process and what it passes on to the final one.
struct Helper<'a> {
    container: &'a OwnedFd,
    ns_flags: i32,
    cgroup: Option<&'a Cgroup>,
    pid_pipe: &'a OwnedFd,
    error_pipe: &'a OwnedFd,
    process: &'a Process,
    stdio: &'a Stdio,
    seccomp: Option<&'a Program>,
}

impl Helper<'_> {
    /// Joins the container, clones the final process as the caller's child and exits; returns only an error.
    fn run(&self) -> SpawnError {
        match self.join_and_clone() {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    fn join_and_clone(&self) -> Result<std::convert::Infallible, SpawnError> {
        // The cgroup first: its files are reachable through the host's mounts only.
        if let Some(cg) = self.cgroup {
            cg.join_self().ctx(|| "join cgroup".into())?;
        }
        setns(self.container.as_fd(), self.ns_flags).ctx(|| "join container namespaces".into())?;
        // SAFETY: this helper process is single-threaded.
        match unsafe { clone3(libc::CLONE_PARENT as u64, None) }.ctx(|| "clone exec process".into())? {
            Cloned::Child => {
                let err = process::exec(self.process, self.stdio, self.seccomp);
                report::send(self.error_pipe, &err);
                exit_child(err.exit_code())
            }
            Cloned::Parent { pid, .. } => {
                rustix::io::write(self.pid_pipe, &pid.to_ne_bytes()).ctx(|| "send exec pid".into())?;
                exit_child(0)
            }
        }
    }
}
