//! Namespaces from the spec: which ones the container gets new (clone flags), which it joins by path (setns), and
//! joining all of a running container's namespaces for exec.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use oci_spec::runtime::{Linux, LinuxNamespaceType};
use rustix::fs::{Mode, OFlags};

use crate::clone::{Cloned, clone3};
use crate::error::{Context, SpawnError};

/// The namespace setup of a new container.
#[derive(Debug, Default)]
pub(crate) struct NamespacePlan {
    /// `CLONE_NEW*` flags for clone3 (the cgroup namespace is not among them: see `new_cgroup`).
    pub(crate) clone_flags: u64,
    /// A new cgroup namespace, unshared by the child once it is in its cgroup.
    pub(crate) new_cgroup: bool,
    /// A new network namespace (its loopback is brought up).
    pub(crate) new_net: bool,
    /// A uts namespace of its own (new or joined), needed to set the hostname.
    pub(crate) uts: bool,
    /// Namespaces to join by path, opened: (CLONE_NEW* flag, descriptor). The child joins them.
    pub(crate) joins: Vec<(i32, OwnedFd)>,
    /// A pid namespace to join: pid namespaces apply to children only, so the caller enters it around clone3.
    pub(crate) pid_join: Option<OwnedFd>,
}

/// The `CLONE_NEW*` flag of a namespace type.
pub(crate) fn clone_flag(typ: LinuxNamespaceType) -> Result<i32, SpawnError> {
    Ok(match typ {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
        LinuxNamespaceType::User => {
            return Err(SpawnError::InvalidSpec(
                "user namespaces are not supported".into(),
            ));
        }
    })
}

impl NamespacePlan {
    pub(crate) fn from_spec(linux: &Linux) -> Result<NamespacePlan, SpawnError> {
        let mut plan = NamespacePlan::default();
        let mut mount = false;
        for ns in linux.namespaces().as_deref().unwrap_or_default() {
            let flag = clone_flag(ns.typ())?;
            mount |= flag == libc::CLONE_NEWNS;
            plan.uts |= flag == libc::CLONE_NEWUTS;
            match ns.path().as_deref().filter(|p| !p.as_os_str().is_empty()) {
                None if flag == libc::CLONE_NEWCGROUP => plan.new_cgroup = true,
                None => {
                    plan.clone_flags |= flag as u64;
                    plan.new_net |= flag == libc::CLONE_NEWNET;
                }
                Some(path) => {
                    if flag == libc::CLONE_NEWNS || flag == libc::CLONE_NEWTIME {
                        return Err(SpawnError::InvalidSpec(format!(
                            "joining an existing {} namespace is not supported",
                            ns.typ()
                        )));
                    }
                    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                        .ctx(|| format!("open namespace {}", path.display()))?;
                    if flag == libc::CLONE_NEWPID {
                        plan.pid_join = Some(fd);
                    } else {
                        plan.joins.push((flag, fd));
                    }
                }
            }
        }
        if !mount {
            return Err(SpawnError::InvalidSpec("a mount namespace is required".into()));
        }
        Ok(plan)
    }
}

/// setns(2) into the namespace `fd` (a namespace file or a pidfd); `flags` says which ones.
pub(crate) fn setns(fd: BorrowedFd<'_>, flags: i32) -> std::io::Result<()> {
    // SAFETY: plain system call on a valid descriptor.
    if unsafe { libc::setns(fd.as_raw_fd(), flags) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// clone3 (see `clone::clone3`) with the caller's pid namespace for children switched to `pid_ns` around it; the
/// caller switches back, the child starts in `pid_ns`.
///
/// # Safety
/// As `clone::clone3`: the caller must be single-threaded.
pub(crate) unsafe fn clone_in_pid_namespace(
    pid_ns: Option<&OwnedFd>,
    flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> Result<Cloned, SpawnError> {
    let Some(target) = pid_ns else {
        // SAFETY: forwarded from the caller.
        return unsafe { clone3(flags, cgroup) }.ctx(|| "clone3".into());
    };
    let own = rustix::fs::open(
        "/proc/self/ns/pid",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /proc/self/ns/pid".into())?;
    setns(target.as_fd(), libc::CLONE_NEWPID).ctx(|| "join pid namespace".into())?;
    // SAFETY: forwarded from the caller.
    let cloned = unsafe { clone3(flags, cgroup) };
    if let Ok(Cloned::Child) = cloned {
        return Ok(Cloned::Child);
    }
    setns(own.as_fd(), libc::CLONE_NEWPID).ctx(|| "restore pid namespace".into())?;
    cloned.ctx(|| "clone3".into())
}

/// The `CLONE_NEW*` flags of all the container's namespaces, for joining them through a pidfd.
pub(crate) fn container_namespace_flags(linux: &Linux) -> Result<i32, SpawnError> {
    let mut flags = 0;
    for ns in linux.namespaces().as_deref().unwrap_or_default() {
        flags |= clone_flag(ns.typ())?;
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder};

    fn linux(types: &[LinuxNamespaceType]) -> Linux {
        let ns = types
            .iter()
            .map(|t| LinuxNamespaceBuilder::default().typ(*t).build().unwrap())
            .collect::<Vec<_>>();
        LinuxBuilder::default().namespaces(ns).build().unwrap()
    }

    #[test]
    fn plan_splits_new_and_cgroup_namespaces() {
        use LinuxNamespaceType::*;
        let plan = NamespacePlan::from_spec(&linux(&[Mount, Pid, Network, Uts, Ipc, Cgroup])).unwrap();
        let want = libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC;
        assert_eq!(plan.clone_flags, want as u64);
        assert!(plan.new_cgroup && plan.new_net && plan.uts);
        assert!(plan.joins.is_empty() && plan.pid_join.is_none());
        assert_eq!(
            container_namespace_flags(&linux(&[Mount, Cgroup])).unwrap(),
            libc::CLONE_NEWNS | libc::CLONE_NEWCGROUP
        );
    }

    #[test]
    fn plan_rejects_missing_mount_and_user_namespaces() {
        use LinuxNamespaceType::*;
        assert!(matches!(
            NamespacePlan::from_spec(&linux(&[Pid])),
            Err(SpawnError::InvalidSpec(_))
        ));
        assert!(matches!(
            NamespacePlan::from_spec(&linux(&[Mount, User])),
            Err(SpawnError::InvalidSpec(_))
        ));
    }

    #[test]
    fn plan_opens_namespaces_to_join() {
        let ns = vec![
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Mount)
                .build()
                .unwrap(),
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path("/proc/self/ns/net")
                .build()
                .unwrap(),
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Pid)
                .path("/proc/self/ns/pid")
                .build()
                .unwrap(),
        ];
        let plan =
            NamespacePlan::from_spec(&LinuxBuilder::default().namespaces(ns).build().unwrap()).unwrap();
        assert_eq!(plan.clone_flags, libc::CLONE_NEWNS as u64);
        assert_eq!(plan.joins.len(), 1);
        assert_eq!(plan.joins[0].0, libc::CLONE_NEWNET);
        assert!(plan.pid_join.is_some() && !plan.new_net);
    }
}
