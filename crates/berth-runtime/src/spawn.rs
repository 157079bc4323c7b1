//! Starting a container: cgroup creation, seccomp compilation, clone3 into new namespaces (and, on cgroup v2,
//! straight into the cgroup), then waiting on the error pipe until the command has been exec'd, and taking the
//! master of its terminal from the console socket.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{Linux, Spec};

use crate::seccomp::Program;

use crate::cgroups::{Cgroup, Hierarchy};
use crate::child::{self, Container};
use crate::clone::{Cloned, wait_pid};
use crate::error::{Context, SpawnError};
use crate::namespaces::{NamespacePlan, clone_in_pid_namespace};
use crate::process::ProcessIo;
use crate::rootfs::RootfsSource;
use crate::{fdpass, report};

/// What to start.
#[derive(Debug)]
pub struct SpawnRequest<'a> {
    /// The container's OCI spec (`root.path` is the rootfs mount point or directory).
    pub spec: &'a Spec,
    /// Pipes of the caller's, or a terminal (then `process.terminal` must be set).
    pub io: ProcessIo,
    pub rootfs: RootfsSource,
    /// Docker's `--init`: pid 1 is a minimal init of ours that runs the command as its child.
    pub init: bool,
    /// Where compiled seccomp programs are cached.
    pub seccomp_cache: &'a Path,
}

/// A started process: its pid (in the caller's pid namespace), a pidfd for it and, when it was given a terminal,
/// the terminal's master. It is a child of the caller, which must reap it.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The master of the process's terminal (a pty of the container's devpts) with `ProcessIo::Terminal`.
    pub console: Option<OwnedFd>,
}

/// The container's compiled seccomp filter, if its spec has one (compiled once per profile, then read from the cache).
pub(crate) fn seccomp_program(linux: &Linux, cache: &Path) -> Result<Option<Program>, SpawnError> {
    Ok(linux
        .seccomp()
        .as_ref()
        .map(|s| crate::seccomp::compile_cached(s, cache))
        .transpose()?)
}

/// The spec's cgroups path, which must be UTF-8.
pub(crate) fn cgroups_path(linux: &Linux) -> Result<Option<&str>, SpawnError> {
    linux
        .cgroups_path()
        .as_ref()
        .map(|p| {
            p.to_str()
                .ok_or_else(|| SpawnError::InvalidSpec("cgroups path is not UTF-8".into()))
        })
        .transpose()
}

/// Creates and starts a container; returns once its command runs (after a successful execve).
///
/// The container's cgroup (`linux.cgroupsPath`) is created here and removed again if the start fails; after the
/// container exits the caller removes it (`Hierarchy::open(path)?.destroy()`).
///
/// The calling process must be single-threaded: the container process is forked from it and runs Rust code
/// before its execve.
pub fn spawn(req: SpawnRequest<'_>) -> Result<Spawned, SpawnError> {
    let spec = req.spec;
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| SpawnError::InvalidSpec("missing linux section".into()))?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| SpawnError::InvalidSpec("missing process".into()))?;
    req.io.check(process)?;
    let namespaces = NamespacePlan::from_spec(linux)?;
    let seccomp = seccomp_program(linux, req.seccomp_cache)?;
    let cgroup = match cgroups_path(linux)? {
        Some(path) => Some(Hierarchy::detect()?.create(path, linux.resources().as_ref())?),
        None => None,
    };
    let result = start(
        &req,
        linux,
        process,
        &namespaces,
        seccomp.as_ref(),
        cgroup.as_ref(),
    );
    if result.is_err()
        && let Some(cg) = cgroup
    {
        // The start error is the one worth reporting.
        let _ = cg.destroy();
    }
    result
}

fn start(
    req: &SpawnRequest<'_>,
    linux: &oci_spec::runtime::Linux,
    process: &oci_spec::runtime::Process,
    namespaces: &NamespacePlan,
    seccomp: Option<&crate::seccomp::Program>,
    cgroup: Option<&Cgroup>,
) -> Result<Spawned, SpawnError> {
    let cgroup_dir = match cgroup {
        Some(cg) => cg.v2_dir_fd()?,
        None => None,
    };
    let console_socket = match req.io {
        ProcessIo::Terminal { .. } => Some(fdpass::socket_pair().ctx(|| "create console socket".into())?),
        ProcessIo::Pipes(_) => None,
    };
    let (err_read, err_write) = report::pipe()?;
    let flags = namespaces.clone_flags | libc::CLONE_PIDFD as u64;
    let cgroup_dir = cgroup_dir.as_ref().map(|fd| fd.as_fd());
    // SAFETY: spawn's contract: the caller is single-threaded.
    let cloned = unsafe { clone_in_pid_namespace(namespaces.pid_join.as_ref(), flags, cgroup_dir) }?;
    let (pid, pidfd) = match cloned {
        Cloned::Child => child::run(&Container {
            spec: req.spec,
            linux,
            process,
            io: &req.io,
            console_socket: console_socket.as_ref().map(|(_, child)| child),
            rootfs: &req.rootfs,
            init: req.init,
            seccomp,
            join_cgroup: if cgroup_dir.is_none() { cgroup } else { None },
            namespaces,
            error_pipe: &err_write,
        }),
        Cloned::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(err_write);
    let console_socket = console_socket.map(|(parent, _)| parent);
    let started = report::receive(err_read).and_then(|reported| match (reported, pidfd) {
        (Some(err), _) => Err(err),
        (None, None) => Err(SpawnError::Container("clone3 returned no pidfd".into())),
        (None, Some(pidfd)) => Ok(pidfd),
    });
    let result = started.and_then(|pidfd| {
        let console = match console_socket {
            Some(socket) => Some(
                fdpass::receive(socket.as_fd())
                    .ctx(|| "receive terminal".into())?
                    .ok_or_else(|| SpawnError::Container("the container sent no terminal".into()))?,
            ),
            None => None,
        };
        Ok(Spawned { pid, pidfd, console })
    });
    if result.is_err() {
        // SAFETY: kill with integer arguments; the pid is our unreaped child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = wait_pid(pid);
    }
    result
}
