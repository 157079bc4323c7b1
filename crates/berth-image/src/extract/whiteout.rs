//! Whiteout entries: `.wh.NAME` hides NAME of lower layers and `.wh..wh..opq` hides all lower
//! content of its directory. Overlay keeps them in overlayfs form (0/0 character device,
//! `trusted.overlay.opaque=y`); vfs applies them as deletions on its full copy of the parent layer.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Dir, FileType, Mode, OFlags, XattrFlags};
use rustix::io::Errno;

use super::{Extractor, Meta, WhiteoutMode, nodes, paths};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{dir_entries, remove_tree_at};

/// The xattr that marks an overlayfs directory opaque.
pub(crate) const OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";

impl Extractor<'_> {
    /// Applies `.wh.<hidden>` found in `parent`.
    pub(super) fn whiteout(&mut self, parent: &[u8], hidden: &[u8], meta: &Meta) -> Result<()> {
        if hidden == b".wh..opq" {
            return self.opaque(parent);
        }
        let mut path = parent.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(hidden);
        if hidden.is_empty() || hidden.starts_with(b".wh.") {
            return Err(Error::UnsafeArchive(format!(
                "invalid whiteout {}",
                paths::show(&path)
            )));
        }
        self.dirs.invalidate(&path);
        let name = paths::cstring(hidden)?;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let dirfd = self.dirs.get(parent)?;
                nodes::overlay_whiteout(dirfd, &name, meta, &self.opts)
                    .ctx(|| format!("whiteout {}", paths::show(&path)))
            }
            WhiteoutMode::Vfs => {
                let dirfd =
                    match paths::open_in_root(self.dirs.root(), parent, OFlags::PATH | OFlags::DIRECTORY) {
                        Ok(fd) => fd,
                        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(()),
                        Err(e) => return Err(Error::io(format!("open {}", paths::show(parent)), e)),
                    };
                remove_tree_at(dirfd.as_fd(), name.as_c_str())
                    .ctx(|| format!("remove {}", paths::show(&path)))
            }
        }
    }

    /// Applies an opaque marker on `parent`.
    fn opaque(&mut self, parent: &[u8]) -> Result<()> {
        let mode = self.opts.whiteouts;
        if mode == WhiteoutMode::Vfs {
            self.record(parent);
        }
        let dirfd = self.dirs.get(parent)?;
        let shown = || paths::show(parent);
        match mode {
            WhiteoutMode::Overlay => rustix::fs::fsetxattr(dirfd, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .ctx(|| format!("mark {} opaque", shown())),
            WhiteoutMode::Vfs => {
                let dirfd = dirfd.try_clone_to_owned().ctx(|| format!("open {}", shown()))?;
                remove_unrecorded(dirfd.as_fd(), parent, &self.unpacked).ctx(|| format!("clear {}", shown()))
            }
        }
    }
}

/// Removes what this layer did not write below the directory `dirfd` (path `prefix`).
fn remove_unrecorded(
    dirfd: BorrowedFd<'_>,
    prefix: &[u8],
    keep: &std::collections::HashSet<Vec<u8>>,
) -> rustix::io::Result<()> {
    let mut dir = Dir::read_from(dirfd)?;
    for (name, kind) in dir_entries(&mut dir)? {
        let mut path = prefix.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.to_bytes());
        if !keep.contains(&path) {
            remove_tree_at(dirfd, name.as_c_str())?;
        } else if kind == FileType::Directory {
            let child = rustix::fs::openat(
                dirfd,
                name.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            remove_unrecorded(child.as_fd(), &path, keep)?;
        }
    }
    Ok(())
}
