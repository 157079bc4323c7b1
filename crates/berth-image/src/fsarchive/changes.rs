//! `docker diff`: what a container's writable layer changed against its image. The result is that of Docker's
//! "naive" diff (the container's tree compared with the image's path by path: same mode, owner, device and — for
//! non-directories — size and mtime means unchanged), computed without mounting anything: an overlay upper
//! directory is walked alone (whiteouts are deletions, an opaque directory hides what lay below, entries are
//! compared with the first lower layer holding them); a vfs layer, a full copy, is compared with the image's top
//! layer. The mount points the runtime creates at start where Docker has its "init layer" (/etc/hosts,
//! /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev, /etc) are not reported. Overlay `redirect_dir` renames are
//! not followed.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};
use crate::extract::whiteout::OPAQUE_XATTR;
use crate::fsutil::{dir_entries, open_dir};
use crate::snapshot::{RwLayer, Snapshots};
use crate::store::ImageStore;
use crate::xattr;

/// One changed path, in the JSON shape of Docker's `container/changes` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    #[serde(rename = "Path")]
    pub path: String,
    /// [`Change::MODIFIED`], [`Change::ADDED`] or [`Change::DELETED`].
    #[serde(rename = "Kind")]
    pub kind: u8,
}

impl Change {
    pub const MODIFIED: u8 = 0;
    pub const ADDED: u8 = 1;
    pub const DELETED: u8 = 2;
}

/// Runtime-made mount points standing where Docker's init layer has files (empty files) and directories.
const INIT_FILES: &[&[u8]] = &[b"etc/hosts", b"etc/hostname", b"etc/resolv.conf"];
const INIT_DIRS: &[&[u8]] = &[b"etc", b"dev", b"proc", b"sys"];

impl ImageStore {
    /// The changes of container `container_id`'s writable layer against its image, sorted by path.
    pub fn rw_changes(&self, container_id: &str) -> Result<Vec<Change>> {
        let snapshots = Snapshots::new(self.data_root(), self.driver());
        let (record, rw) = snapshots.rw_layer(container_id)?;
        let (top, lowers, overlay) = match &rw {
            RwLayer::Overlay { lower, upper, .. } => (upper.clone(), lower.clone(), true),
            RwLayer::Dir { path } => {
                let image_top = record.layers.first().map(|c| snapshots.layer_content(c));
                (path.clone(), image_top.into_iter().collect(), false)
            }
        };
        tree_changes(&top, &lowers, overlay)
    }
}

/// The changes of the tree `top` (an overlay upper directory when `overlay`, else a full tree) against the layers
/// `lowers` (top first).
pub(crate) fn tree_changes(top: &Path, lowers: &[impl AsRef<Path>], overlay: bool) -> Result<Vec<Change>> {
    let ctx = || format!("compare {} with its image", top.display());
    let upper = open_dir(top)?;
    let old = lowers
        .iter()
        .map(|l| open_dir(l.as_ref()))
        .collect::<Result<Vec<OwnedFd>>>()?;
    let complete = !overlay || is_opaque_fd(upper.as_fd()).ctx(ctx)?;
    let mut d = Differ {
        overlay,
        out: Vec::new(),
    };
    d.dir(upper.as_fd(), &old, complete, &[]).ctx(ctx)?;
    d.out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(d.out)
}

struct Differ {
    overlay: bool,
    out: Vec<Change>,
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

fn is_opaque_fd(fd: BorrowedFd<'_>) -> std::io::Result<bool> {
    let v = xattr::get_fd(fd, OPAQUE_XATTR).map_err(std::io::Error::other)?;
    Ok(v.as_deref() == Some(b"y"))
}

fn is_opaque(dirfd: BorrowedFd<'_>, name: &CStr) -> std::io::Result<bool> {
    let v = xattr::get_at(dirfd, name, OPAQUE_XATTR).map_err(std::io::Error::other)?;
    Ok(v.as_deref() == Some(b"y"))
}

fn stat_at(dirfd: BorrowedFd<'_>, name: &CStr) -> std::io::Result<Option<Stat>> {
    match rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn open_subdir(dirfd: BorrowedFd<'_>, name: &CStr) -> std::io::Result<Option<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dirfd, name, flags, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Go's `sameFsTimeSpec`: equal, or equal seconds with one side lacking nanoseconds (tar round trips).
fn same_time(a: &Stat, b: &Stat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

fn joined(path: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(path.len() + 1 + name.len());
    if !path.is_empty() {
        p.extend_from_slice(path);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

impl Differ {
    fn push(&mut self, path: &[u8], kind: u8) {
        self.out.push(Change {
            path: format!("/{}", String::from_utf8_lossy(path)),
            kind,
        });
    }

    /// The image's entry `name` in the directory whose lower copies are `old`: its stat and the index of the layer
    /// holding it; `None` when absent or whited out.
    fn lookup(&self, old: &[OwnedFd], name: &CStr) -> std::io::Result<Option<(Stat, usize)>> {
        for (i, fd) in old.iter().enumerate() {
            if let Some(st) = stat_at(fd.as_fd(), name)? {
                return Ok((!(self.overlay && is_whiteout(&st))).then_some((st, i)));
            }
        }
        Ok(None)
    }

    /// The lower copies of directory `name` (known to be a directory in `old[0]`): down to the first layer where
    /// it is opaque, missing below a whiteout, or not a directory.
    fn child_view(&self, old: &[OwnedFd], name: &CStr) -> std::io::Result<Vec<OwnedFd>> {
        let mut view = Vec::new();
        for fd in old {
            let Some(st) = stat_at(fd.as_fd(), name)? else {
                continue;
            };
            if !is_dir(&st) {
                break;
            }
            let Some(sub) = open_subdir(fd.as_fd(), name)? else {
                break;
            };
            view.push(sub);
            if self.overlay && is_opaque(fd.as_fd(), name)? {
                break;
            }
        }
        Ok(view)
    }

    /// The names the image shows in the directory whose lower copies are `old`.
    fn listing(&self, old: &[OwnedFd]) -> std::io::Result<Vec<CString>> {
        let mut seen = HashSet::new();
        let mut visible = Vec::new();
        for fd in old {
            for (name, kind) in dir_entries(&mut Dir::read_from(fd)?)? {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let whiteout = self.overlay
                    && matches!(kind, FileType::CharacterDevice | FileType::Unknown)
                    && stat_at(fd.as_fd(), &name)?.is_some_and(|st| is_whiteout(&st));
                if !whiteout {
                    visible.push(name);
                }
            }
        }
        Ok(visible)
    }

    /// Whether the naive diff calls `name` modified: mode, owner, device, and for non-directories size, mtime and
    /// file capability.
    fn differs(
        &self,
        old: &Stat,
        old_dir: BorrowedFd<'_>,
        new: &Stat,
        new_dir: BorrowedFd<'_>,
        name: &CStr,
    ) -> std::io::Result<bool> {
        if old.st_mode != new.st_mode
            || old.st_uid != new.st_uid
            || old.st_gid != new.st_gid
            || old.st_rdev != new.st_rdev
        {
            return Ok(true);
        }
        if is_dir(new) {
            return Ok(false);
        }
        if old.st_size != new.st_size || !same_time(old, new) {
            return Ok(true);
        }
        if FileType::from_raw_mode(new.st_mode) != FileType::RegularFile {
            return Ok(false);
        }
        let cap = |dirfd| xattr::get_at(dirfd, name, c"security.capability").map_err(std::io::Error::other);
        Ok(cap(old_dir)? != cap(new_dir)?)
    }

    /// Compares the directory `upper` (at `path`) with its lower copies `old`; `complete` when `upper` lists every
    /// name the container sees there (so lower names missing from it are deletions). Returns whether anything
    /// below changed.
    fn dir(
        &mut self,
        upper: BorrowedFd<'_>,
        old: &[OwnedFd],
        complete: bool,
        path: &[u8],
    ) -> std::io::Result<bool> {
        let entries = dir_entries(&mut Dir::read_from(upper)?)?;
        let mut names = HashSet::with_capacity(entries.len());
        let mut changed = false;
        for (name, _) in entries {
            // A running container may remove entries while they are compared.
            let Some(st) = stat_at(upper, &name)? else {
                continue;
            };
            let child = joined(path, name.to_bytes());
            names.insert(name.clone());
            if self.overlay && is_whiteout(&st) {
                if self.lookup(old, &name)?.is_some() {
                    self.push(&child, Change::DELETED);
                    changed = true;
                }
                continue;
            }
            let found = self.lookup(old, &name)?;
            let init_artifact = found.is_none()
                && if is_dir(&st) {
                    INIT_DIRS.contains(&child.as_slice())
                } else {
                    st.st_size == 0
                        && FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                        && INIT_FILES.contains(&child.as_slice())
                };
            let recorded = match &found {
                None if init_artifact => false,
                None => {
                    self.push(&child, Change::ADDED);
                    true
                }
                Some((ost, i)) => {
                    let modified = self.differs(ost, old[*i].as_fd(), &st, upper, &name)?;
                    if modified {
                        self.push(&child, Change::MODIFIED);
                    }
                    modified
                }
            };
            changed |= recorded;
            if !is_dir(&st) {
                continue;
            }
            let child_old = match &found {
                Some((ost, i)) if is_dir(ost) => self.child_view(&old[*i..], &name)?,
                _ => Vec::new(),
            };
            let child_complete = !self.overlay || child_old.is_empty() || is_opaque(upper, &name)?;
            let Some(sub) = open_subdir(upper, &name)? else {
                continue;
            };
            let inner = self.dir(sub.as_fd(), &child_old, child_complete, &child)?;
            if inner && !recorded {
                self.push(&child, Change::MODIFIED);
            }
            changed |= inner;
        }
        if complete {
            for name in self.listing(old)? {
                if !names.contains(&name) {
                    self.push(&joined(path, name.to_bytes()), Change::DELETED);
                    changed = true;
                }
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests;
