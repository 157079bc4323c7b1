//! Reaching a container's files for `cp`, `export` and friends without leaving anything mounted on the host. A
//! running (or paused) container is reached through its own mount namespace: `/proc/<pid>/root` (its root with
//! everything mounted in it, as `docker cp` sees it) or a clone of its root mount alone (the root filesystem, as
//! `docker export` sees it) made by a short-lived thread that joins the namespace. A stopped container's writable
//! layer is mounted privately and detached, with its volumes and binds attached for `cp` as Docker does: the mounts
//! exist only as a descriptor and vanish with it, even if the process dies. Meanwhile the container's start lock is
//! held, so a concurrent start cannot mount the same layer.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use berth_image::fsarchive;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{CWD, FileType, FlockOperation, Mode, OFlags, flock};
use rustix::io::Errno;
use rustix::mount::{MoveMountFlags, OpenTreeFlags, move_mount, open_tree};
use rustix::process::{Pid, PidfdFlags, pidfd_open};
use rustix::thread::{ThreadNameSpaceType, UnshareFlags};

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::model::{Container, MountPoint, Status};

/// What part of a running container's tree is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// The root with everything mounted in the container (volumes, binds, /etc/hosts…).
    WithMounts,
    /// The root filesystem alone.
    RootfsOnly,
}

/// A container's root, open for one operation.
pub(crate) struct ContainerRoot {
    pub(crate) container: Container,
    fd: OwnedFd,
    /// The start lock, held while a stopped container's layer is mounted here.
    _start_lock: Option<File>,
}

impl ContainerRoot {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// How many times a container that starts or stops while being opened is looked at again.
const ATTEMPTS: usize = 5;

fn is_running(c: &Container) -> bool {
    matches!(c.state.status, Status::Running | Status::Paused) && c.state.pid > 0
}

impl Engine {
    /// Opens the root of container `reference`.
    pub(crate) fn container_root(&self, reference: &str, view: View) -> Result<ContainerRoot> {
        let id = self.containers.resolve(reference)?;
        for _ in 0..ATTEMPTS {
            let c = self.reconcile(self.containers.load(&id)?)?;
            if is_running(&c) {
                if let Some(fd) = self.running_root(&c, view)? {
                    return Ok(ContainerRoot {
                        container: c,
                        fd,
                        _start_lock: None,
                    });
                }
                continue;
            }
            let (lock, c) = self.lock_start(&id)?;
            if is_running(&c) && self.is_alive(&c) {
                continue;
            }
            let rw = self.images.rw_layer(&id)?;
            let fd = berth_image::overlay_mount(&rw)?;
            if view == View::WithMounts {
                attach_volumes(fd.as_fd(), &c)?;
            }
            return Ok(ContainerRoot {
                container: c,
                fd,
                _start_lock: Some(lock),
            });
        }
        Err(Error::Conflict(format!(
            "container {id} changed state too often while being opened; try again"
        )))
    }

    /// Takes the lock `start` takes (on the container's runtime directory; a start waits until it is dropped) and
    /// reads the container's record under it.
    fn lock_start(&self, id: &str) -> Result<(File, Container)> {
        let dir = self.opts.paths.runtime_dir(id);
        std::fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        let f = File::open(&dir).ctx(|| format!("open {}", dir.display()))?;
        flock(f.as_fd(), FlockOperation::LockExclusive)
            .map_err(|e| Error::io("lock runtime dir", e.into()))?;
        match self.containers.load(id) {
            Ok(c) => Ok((f, c)),
            Err(e) => {
                // Removed meanwhile: do not leave its runtime directory behind.
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// The root of running container `c`, or `None` if it stopped meanwhile.
    fn running_root(&self, c: &Container, view: View) -> Result<Option<OwnedFd>> {
        let pid = Pid::from_raw(c.state.pid).ok_or_else(|| Error::Runtime("invalid container pid".into()))?;
        let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(Errno::SRCH) => return Ok(None),
            Err(e) => return Err(Error::io("open container process", e.into())),
        };
        // The shim records a stop before it releases the pid: if the record still names this pid, the pidfd is the
        // container's process.
        let now = self.containers.load(&c.id)?;
        if !is_running(&now) || now.state.pid != c.state.pid {
            return Ok(None);
        }
        let opened = match view {
            View::WithMounts => rustix::fs::open(
                format!("/proc/{}/root", c.state.pid),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ),
            View::RootfsOnly => clone_root_mount(pidfd.as_fd()),
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(Errno::NOENT) | Err(Errno::SRCH) | Err(Errno::INVAL) if exited(&pidfd)? => return Ok(None),
            Err(e) => return Err(Error::io("open container root", e.into())),
        };
        // /proc was reached by pid number: it was still the container's if the process has not exited since.
        if exited(&pidfd)? {
            return Ok(None);
        }
        Ok(Some(fd))
    }
}

/// Attaches the container's volumes and binds (not its tmpfs mounts, which exist only while it runs) to the
/// detached tree `root`, outer ones first, read-only ones read-only.
fn attach_volumes(root: BorrowedFd<'_>, c: &Container) -> Result<()> {
    let mut mounts: Vec<&MountPoint> = c
        .mounts
        .iter()
        .filter(|m| m.kind != "tmpfs" && !m.source.is_empty())
        .collect();
    mounts.sort_by_key(|m| m.destination.trim_end_matches('/').matches('/').count());
    for m in mounts {
        let failed = |e: Errno| Error::io(format!("mount {} on {}", m.source, m.destination), e.into());
        let flags =
            OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC | OpenTreeFlags::AT_RECURSIVE;
        let src = open_tree(CWD, m.source.as_str(), flags).map_err(failed)?;
        if !m.rw {
            set_read_only(src.as_fd()).map_err(failed)?;
        }
        let is_dir =
            FileType::from_raw_mode(rustix::fs::fstat(&src).map_err(failed)?.st_mode) == FileType::Directory;
        let target = fsarchive::mount_point(root, &m.destination, is_dir)?;
        let empty = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
        move_mount(&src, "", &target, "", empty).map_err(failed)?;
    }
    Ok(())
}

/// Makes the detached mount tree `fd` read-only (`mount_setattr`, which rustix lacks).
fn set_read_only(fd: BorrowedFd<'_>) -> rustix::io::Result<()> {
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `attr` outlives the call and its size is passed; the path is an empty C string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if r < 0 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO))
    } else {
        Ok(())
    }
}

/// Whether the process of `pidfd` has exited.
fn exited(pidfd: &OwnedFd) -> Result<bool> {
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let ready = poll(&mut fds, Some(&rustix::event::Timespec::default()))
        .map_err(|e| Error::io("poll container process", e.into()))?;
    Ok(ready > 0)
}

/// A detached clone of the root mount (alone) of the mount namespace of the process `pidfd`. A new thread gets a
/// filesystem context of its own, joins that namespace, clones and ends; the rest of the process is untouched.
fn clone_root_mount(pidfd: BorrowedFd<'_>) -> rustix::io::Result<OwnedFd> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: only this thread's filesystem context (root, cwd, umask) is unshared; the thread ends right
            // after and nothing else runs on it.
            unsafe { rustix::thread::unshare_unsafe(UnshareFlags::FS) }?;
            rustix::thread::move_into_thread_name_spaces(pidfd, ThreadNameSpaceType::MOUNT)?;
            open_tree(
                CWD,
                "/",
                OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
            )
        })
        .join()
        .unwrap_or(Err(Errno::IO))
    })
}
