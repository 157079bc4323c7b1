//! The filesystem-layout system calls the rootfs setup makes (mount, mkdir, mknod, symlink, pivot_root), behind a
//! trait so the mount planning can be tested without root. Paths named "container paths" are absolute paths inside
//! the container's root; implementations resolve them without letting symlinks escape that root.

mod linux;
#[cfg(test)]
pub(crate) mod recording;

pub(crate) use linux::LinuxSyscalls;

use std::io;
use std::path::{Path, PathBuf};

/// mount(2) flag bits (`MS_*`).
pub(crate) type MountFlags = libc::c_ulong;

/// What a path names, as far as choosing a mount target goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    Dir,
    /// Anything that is not a directory (a mount target for it must be a file).
    File,
}

pub(crate) trait Syscalls {
    /// Changes the propagation of the whole mount tree of the (new) mount namespace, seen from the host root.
    fn set_root_propagation(&mut self, flags: MountFlags) -> io::Result<()>;
    /// Mounts an overlay of `lower` (top first), `upper` and `work` on the rootfs directory, which then becomes the
    /// root that container paths resolve in.
    fn mount_overlay(&mut self, lower: &[PathBuf], upper: &Path, work: &Path) -> io::Result<()>;
    /// Bind-mounts the rootfs directory onto itself (pivot_root needs a mount point), then resolves in it.
    fn bind_rootfs(&mut self) -> io::Result<()>;
    /// What a container path is, `None` when it does not exist.
    fn kind(&mut self, path: &Path) -> io::Result<Option<FileKind>>;
    /// What a host path (a bind source) is, following symlinks.
    fn host_kind(&mut self, path: &Path) -> io::Result<FileKind>;
    /// Creates a container directory and its missing parents.
    fn create_dir_all(&mut self, path: &Path) -> io::Result<()>;
    /// Creates an empty container file (if missing) and its missing parents.
    fn create_file(&mut self, path: &Path) -> io::Result<()>;
    /// mount(2) onto a container path; `source` is passed to the kernel as it is.
    fn mount(
        &mut self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// Bind-mounts a container path onto itself (recursively).
    fn bind_self(&mut self, path: &Path) -> io::Result<()>;
    /// The flags of the mount a container path is on (from statfs), as `MS_*` bits.
    fn mount_flags(&mut self, path: &Path) -> io::Result<MountFlags>;
    /// mknod(2) of a container path; the parent directory must exist.
    fn mknod(&mut self, path: &Path, mode: u32, dev: u64) -> io::Result<()>;
    /// Changes the owner of a container path (without following a final symlink).
    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()>;
    /// Creates the symlink `link` (a container path) pointing at `target`.
    fn symlink(&mut self, target: &str, link: &Path) -> io::Result<()>;
    /// Makes the rootfs the root of the mount namespace and detaches the old root.
    fn pivot_root(&mut self) -> io::Result<()>;
}
