//! Overlay mounts with the new mount API (`fsopen` + `lowerdir+`, so layer counts are not limited by
//! the mount option page), the once-per-store overlay support probe, and bind mounts of vfs layers.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags, fsconfig_create,
    fsconfig_set_string, fsmount, fsopen, move_mount, open_tree,
};

use super::RwLayer;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// Configures an overlay filesystem context and returns a detached mount of it.
fn overlay_fd(lowers: &[&Path], upper: &Path, work: &Path) -> rustix::io::Result<OwnedFd> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for l in lowers {
        fsconfig_set_string(&fs, "lowerdir+", *l)?;
    }
    fsconfig_set_string(&fs, "upperdir", upper)?;
    fsconfig_set_string(&fs, "workdir", work)?;
    // Like Docker: no inode index, so layers can be shared by mounts with different stacks.
    match fsconfig_set_string(&fs, "index", "off") {
        Ok(()) | Err(Errno::INVAL) => {}
        Err(e) => return Err(e),
    }
    fsconfig_create(&fs)?;
    fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
}

/// Checks that an overlay with an upper directory on the store's filesystem can be created.
pub(super) fn probe(image_dir: &Path) -> Result<()> {
    let dir = image_dir.join(fsutil::tmp_name("probe"));
    let (lower, upper, work) = (dir.join("lower"), dir.join("upper"), dir.join("work"));
    let made = [&lower, &upper, &work]
        .into_iter()
        .try_for_each(|d| std::fs::create_dir_all(d).ctx(|| format!("create {}", d.display())));
    let result = made.and_then(|_| {
        overlay_fd(&[lower.as_path()], &upper, &work)
            .map(drop)
            .ctx(|| "mount overlay".into())
    });
    fsutil::remove_tree(&dir)?;
    result
}

/// A detached overlay mount of a read-write layer (the runtime can `move_mount` it anywhere).
/// For a vfs layer, a detached bind mount of its directory.
pub fn overlay_mount(rw: &RwLayer) -> Result<OwnedFd> {
    match rw {
        RwLayer::Overlay {
            lower, upper, work, ..
        } => {
            let lowers: Vec<&Path> = lower.iter().map(|p| p.as_path()).collect();
            overlay_fd(&lowers, upper, work).ctx(|| format!("mount overlay on {}", upper.display()))
        }
        RwLayer::Dir { path } => {
            let flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
            open_tree(CWD, path, flags).ctx(|| format!("bind {}", path.display()))
        }
    }
}

/// Mounts the merged view of a read-write layer on `target` (for cp/export of a stopped container).
pub fn mount_rw(rw: &RwLayer, target: &Path) -> Result<()> {
    let fd = overlay_mount(rw)?;
    move_mount(&fd, "", CWD, target, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)
        .ctx(|| format!("mount on {}", target.display()))
}

/// Unmounts what [`mount_rw`] mounted on `target` (lazily, so open files do not block it).
pub fn unmount(target: &Path) -> Result<()> {
    rustix::mount::unmount(target, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW).map_err(|e| match e {
        Errno::INVAL => Error::InvalidArgument(format!("{} is not a mount point", target.display())),
        e => Error::io(format!("unmount {}", target.display()), e),
    })
}
