//! The container's first process, between clone3 and execve: joins its cgroup and namespaces, builds the root
//! filesystem (with a terminal of the container's own devpts when asked), sets hostname and sysctls, then either
//! execs the command or (with `init`) becomes pid 1 around it. Every failure is reported over the error pipe and
//! ends the process with Docker's exit code.

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, Mount, Process, Spec};

use crate::cgroups::Cgroup;
use crate::clone::exit_child;
use crate::error::{Context, SpawnError};
use crate::namespaces::{NamespacePlan, setns};
use crate::process::{ProcessIo, Stdio};
use crate::rootfs::mounts::CgroupLayout;
use crate::rootfs::{self, RootfsPlan, RootfsSource};
use crate::seccomp::Program;
use crate::syscalls::LinuxSyscalls;
use crate::{fdpass, init, network, process, pty, report};

/// Everything the container process needs, prepared by the caller before clone3.
pub(crate) struct Container<'a> {
    pub(crate) spec: &'a Spec,
    pub(crate) linux: &'a Linux,
    pub(crate) process: &'a Process,
    pub(crate) io: &'a ProcessIo,
    /// Where the master of the terminal goes, with `ProcessIo::Terminal`.
    pub(crate) console_socket: Option<&'a OwnedFd>,
    pub(crate) rootfs: &'a RootfsSource,
    pub(crate) init: bool,
    pub(crate) seccomp: Option<&'a Program>,
    /// The cgroup to join from inside (cgroup v1; on v2 clone3 already placed us).
    pub(crate) join_cgroup: Option<&'a Cgroup>,
    pub(crate) namespaces: &'a NamespacePlan,
    pub(crate) error_pipe: &'a OwnedFd,
}

/// Runs the container process to its execve; never returns.
pub(crate) fn run(c: &Container<'_>) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| setup(c)));
    let err = match outcome {
        Ok(Ok(never)) => match never {},
        Ok(Err(e)) => e,
        Err(_) => SpawnError::Container("container setup panicked".into()),
    };
    report::send(c.error_pipe, &err);
    exit_child(err.exit_code())
}

fn setup(c: &Container<'_>) -> Result<Infallible, SpawnError> {
    // The cgroup first: a new cgroup namespace is rooted where its creator is. On cgroup v1 the join waits for an
    // RCU grace period unless one was started shortly before; measured here, that wait ends soonest when the join
    // comes before the rootfs work (after it, a start without priming took 8 ms longer, and none was faster).
    if let Some(cg) = c.join_cgroup {
        cg.join_self().ctx(|| "join cgroup".into())?;
    }
    for (flag, fd) in &c.namespaces.joins {
        setns(fd.as_fd(), *flag).ctx(|| "join namespace".into())?;
    }
    if c.namespaces.new_cgroup {
        // SAFETY: unshare with a flag only.
        if unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
            return Err(std::io::Error::last_os_error()).ctx(|| "unshare cgroup namespace".into());
        }
    }
    rustix::process::umask(rustix::fs::Mode::empty());
    let root = c
        .spec
        .root()
        .as_ref()
        .ok_or_else(|| SpawnError::InvalidSpec("missing root".into()))?;
    let mounts: &[Mount] = c.spec.mounts().as_deref().unwrap_or_default();
    let cgroups = cgroup_layout(mounts)?;
    let plan = RootfsPlan {
        source: c.rootfs,
        mounts,
        linux: c.linux,
        cgroups: cgroups.as_ref(),
        cgroup_ns: c.namespaces.new_cgroup
            || c.namespaces
                .joins
                .iter()
                .any(|(flag, _)| *flag == libc::CLONE_NEWCGROUP),
    };
    let mut sys = LinuxSyscalls::new(root.path());
    rootfs::prepare(&mut sys, &plan).ctx(|| "rootfs".into())?;
    let terminal;
    let (stdio, console) = match c.io {
        ProcessIo::Pipes(stdio) => (stdio, None),
        ProcessIo::Terminal { size } => {
            terminal = open_terminal(c, &sys, *size)?;
            // The slave by its path in this mount namespace (/proc/self/fd/N names /dev/pts/N of the rootfs).
            let console = PathBuf::from(format!("/proc/self/fd/{}", terminal.stdin.as_raw_fd()));
            (&terminal, Some(console))
        }
    };
    rootfs::pivot(&mut sys, console.as_deref()).ctx(|| "rootfs".into())?;
    set_names(c)?;
    for (key, value) in c.linux.sysctl().iter().flatten() {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).ctx(|| format!("sysctl {key}={value}"))?;
    }
    rootfs::finish(&mut sys, c.linux, root.readonly().unwrap_or(false)).ctx(|| "rootfs".into())?;
    if c.namespaces.new_net {
        network::loopback_up().ctx(|| "bring up loopback".into())?;
    }

    if c.init {
        init::run(|| {
            let err = process::exec(c.process, stdio, c.seccomp);
            report::send(c.error_pipe, &err);
            err.exit_code()
        })
        .ctx(|| "fork init child".into())
    } else {
        Err(process::exec(c.process, stdio, c.seccomp))
    }
}

/// The cgroup layout this process sees, when a cgroup mount needs it.
fn cgroup_layout(mounts: &[Mount]) -> Result<Option<CgroupLayout>, SpawnError> {
    if !mounts
        .iter()
        .any(|m| matches!(m.typ().as_deref(), Some("cgroup" | "cgroup2")))
    {
        return Ok(None);
    }
    let text = std::fs::read_to_string("/proc/self/cgroup").ctx(|| "read /proc/self/cgroup".into())?;
    Ok(Some(CgroupLayout::parse(&text)))
}

/// Allocates the terminal from the rootfs's devpts (mounted by now), sends its master to the caller and returns
/// the slave as stdio.
fn open_terminal(
    c: &Container<'_>,
    sys: &LinuxSyscalls,
    size: Option<(u16, u16)>,
) -> Result<Stdio, SpawnError> {
    let root = sys.root().ctx(|| "open terminal".into())?;
    let pty = pty::open_in(root, size).ctx(|| "open terminal".into())?;
    let socket = c
        .console_socket
        .ok_or_else(|| SpawnError::Container("no console socket".into()))?;
    fdpass::send(socket.as_fd(), pty.master.as_fd()).ctx(|| "send terminal".into())?;
    Stdio::terminal(pty.slave)
}

fn set_names(c: &Container<'_>) -> Result<(), SpawnError> {
    let hostname = c.spec.hostname().as_deref().filter(|h| !h.is_empty());
    let domainname = c.spec.domainname().as_deref().filter(|d| !d.is_empty());
    if (hostname.is_some() || domainname.is_some()) && !c.namespaces.uts {
        return Err(SpawnError::InvalidSpec(
            "setting the hostname needs a uts namespace".into(),
        ));
    }
    if let Some(h) = hostname {
        rustix::system::sethostname(h.as_bytes()).ctx(|| "sethostname".into())?;
    }
    if let Some(d) = domainname {
        // SAFETY: pointer and length of a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(std::io::Error::last_os_error()).ctx(|| "setdomainname".into());
        }
    }
    Ok(())
}
