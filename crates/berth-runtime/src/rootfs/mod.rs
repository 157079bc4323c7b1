//! The container's root filesystem: mounting the root (an overlay or a prepared directory), the spec's mounts,
//! /dev, /dev/console, pivot_root, and the read-only and masked paths. Runs inside the container's new mount
//! namespace, through the `Syscalls` trait.

mod devices;
pub(crate) mod mounts;
pub(crate) mod paths;
mod pivot;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Linux, Mount};

use crate::syscalls::Syscalls;
use mounts::CgroupLayout;

/// Where the container's root filesystem comes from.
#[derive(Debug, Clone)]
pub enum RootfsSource {
    /// `spec.root.path` already holds the root filesystem.
    Ready,
    /// An overlay mounted at `spec.root.path` inside the container's mount namespace.
    Overlay {
        /// Read-only layers, top first.
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
    },
}

/// What the mount phase needs besides the syscalls.
pub(crate) struct RootfsPlan<'a> {
    pub(crate) source: &'a RootfsSource,
    pub(crate) mounts: &'a [Mount],
    pub(crate) linux: &'a Linux,
    /// The cgroup layout, needed only when a cgroup mount is in the spec.
    pub(crate) cgroups: Option<&'a CgroupLayout>,
    pub(crate) cgroup_ns: bool,
}

/// The spec's root propagation, or rslave like runc (host mounts still propagate in, nothing propagates out).
fn root_propagation(linux: &Linux) -> io::Result<libc::c_ulong> {
    match linux.rootfs_propagation().as_deref() {
        None | Some("") => Ok(libc::MS_SLAVE | libc::MS_REC),
        Some(p) => mounts::propagation_option(p)
            .ok_or_else(|| io::Error::other(format!("invalid rootfs propagation {p:?}"))),
    }
}

/// Mounts the root and everything below it and creates the /dev entries.
pub(crate) fn prepare(sys: &mut dyn Syscalls, plan: &RootfsPlan<'_>) -> io::Result<()> {
    let mut propagation = root_propagation(plan.linux)?;
    if propagation & libc::MS_SHARED != 0 {
        // Mounting under a shared "/" would reach the host (and pivot_root refuses a shared root): mount as rslave
        // and make the new root shared in `finish`.
        propagation = libc::MS_SLAVE | libc::MS_REC;
    }
    sys.set_root_propagation(propagation)?;
    match plan.source {
        RootfsSource::Ready => sys.bind_rootfs(),
        RootfsSource::Overlay { lower, upper, work } => sys.mount_overlay(lower, upper, work),
    }
    .map_err(|e| io::Error::new(e.kind(), format!("mount rootfs: {e}")))?;
    for m in plan.mounts {
        mounts::mount_entry(sys, m, plan.cgroups, plan.cgroup_ns)
            .map_err(|e| io::Error::new(e.kind(), format!("mount {}: {e}", m.destination().display())))?;
    }
    let devices = devices::device_list(plan.linux.devices().as_deref().unwrap_or_default())?;
    devices::create_devices(sys, &devices)?;
    devices::create_symlinks(sys)
}

/// Binds the terminal `console` (a path to a pty slave of this mount namespace, e.g. /proc/self/fd/N) on
/// /dev/console, then makes the rootfs the root.
pub(crate) fn pivot(sys: &mut dyn Syscalls, console: Option<&Path>) -> io::Result<()> {
    if let Some(console) = console {
        devices::bind_console(sys, console).map_err(|e| io::Error::new(e.kind(), format!("console: {e}")))?;
    }
    sys.pivot_root()
        .map_err(|e| io::Error::new(e.kind(), format!("pivot_root: {e}")))
}

/// After pivot_root (and after sysctls are written): read-only and masked paths, a read-only root, and the
/// spec's root propagation.
pub(crate) fn finish(sys: &mut dyn Syscalls, linux: &Linux, readonly_root: bool) -> io::Result<()> {
    pivot::readonly_paths(sys, linux.readonly_paths().as_deref().unwrap_or_default())
        .map_err(|e| io::Error::new(e.kind(), format!("readonly paths: {e}")))?;
    pivot::mask_paths(sys, linux.masked_paths().as_deref().unwrap_or_default())
        .map_err(|e| io::Error::new(e.kind(), format!("masked paths: {e}")))?;
    if readonly_root {
        pivot::remount_readonly(sys, Path::new("/"), 0)
            .map_err(|e| io::Error::new(e.kind(), format!("read-only root: {e}")))?;
    }
    if let Some(p) = linux.rootfs_propagation().as_deref().filter(|p| !p.is_empty()) {
        sys.mount(None, Path::new("/"), None, root_propagation(linux)?, None)
            .map_err(|e| io::Error::new(e.kind(), format!("root propagation {p}: {e}")))?;
    }
    Ok(())
}
