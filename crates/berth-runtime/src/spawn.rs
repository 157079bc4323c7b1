//! Starting a container: cgroup creation, seccomp compilation, clone3 into new namespaces (and, on cgroup v2,
//! straight into the cgroup), then waiting on the error pipe until the command has been exec'd.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{Linux, Spec};

use crate::seccomp::Program;

use crate::cgroups::{Cgroup, Hierarchy};
use crate::child::{self, Container};
use crate::clone::{Cloned, wait_pid};
use crate::error::SpawnError;
use crate::namespaces::{NamespacePlan, clone_in_pid_namespace};
use crate::process::Stdio;
use crate::report;
use crate::rootfs::RootfsSource;

/// What to start.
#[derive(Debug)]
pub struct SpawnRequest<'a> {
    /// The container's OCI spec (`root.path` is the rootfs mount point or directory).
    pub spec: &'a Spec,
    pub stdio: Stdio,
    pub rootfs: RootfsSource,
    /// Docker's `--init`: pid 1 is a minimal init of ours that runs the command as its child.
    pub init: bool,
    /// Where compiled seccomp programs are cached.
    pub seccomp_cache: &'a Path,
}

/// A started process: its pid (in the caller's pid namespace) and a pidfd for it. It is a child of the caller,
/// which must reap it.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
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
            stdio: &req.stdio,
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
    let reported = report::receive(err_read);
    match (reported, pidfd) {
        (Ok(None), Some(pidfd)) => Ok(Spawned { pid, pidfd }),
        (Ok(None), None) => {
            // SAFETY: kill with integer arguments; the pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait_pid(pid);
            Err(SpawnError::Container("clone3 returned no pidfd".into()))
        }
        (Ok(Some(err)), _) | (Err(err), _) => {
            let _ = wait_pid(pid);
            Err(err)
        }
    }
}
