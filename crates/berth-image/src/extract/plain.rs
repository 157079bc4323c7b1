//! Plain extraction, as `docker cp` into a container does (not a layer): entries land below a destination
//! directory of a root, whiteout names are ordinary files, the destination's own metadata is left alone, `..`
//! leaving the destination is refused, owners may be forced, and replacing a directory by a non-directory (or the
//! reverse) may be refused. Every path is still resolved inside the root, so nothing is written outside it.

use std::collections::HashSet;
use std::ffi::CStr;
use std::io::Read;
use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, FileType};
use rustix::io::Errno;

use super::{DevicePolicy, ExtractOptions, ExtractStats, Extractor, Meta, WhiteoutMode, nodes, paths};
use crate::error::{Error, IoContext, Result};

/// Options of [`extract_plain`].
#[derive(Debug, Clone, Default)]
pub struct PlainOptions {
    /// The destination directory, relative to the root (`""` for the root itself); it must exist.
    pub dest: Vec<u8>,
    /// Refuse to replace an existing directory with a non-directory and the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Give every entry this owner instead of the archive's.
    pub owner: Option<(u32, u32)>,
}

/// What plain mode changes in the extractor.
pub(super) struct Plain {
    opts: PlainOptions,
}

/// Extracts `tar` into `opts.dest` below `root`. Device nodes are refused; fifos, symlinks and hardlinks (to
/// entries inside the destination) are kept.
pub fn extract_plain(root: BorrowedFd<'_>, tar: impl Read, opts: PlainOptions) -> Result<ExtractStats> {
    let root = root.try_clone_to_owned().ctx(|| "dup container root".into())?;
    let mut x = Extractor {
        dirs: paths::Dirs::new(root),
        // Never consulted in plain mode: whiteout names are not interpreted.
        opts: ExtractOptions {
            whiteouts: WhiteoutMode::Overlay,
            devices: DevicePolicy::Reject,
            same_owner: true,
            workers: 0,
        },
        umask: nodes::current_umask(),
        unpacked: HashSet::new(),
        dir_times: Vec::new(),
        buf: vec![0u8; 256 * 1024],
        stats: ExtractStats::default(),
        split: None,
        plain: Some(Plain { opts }),
        pool: None,
    };
    let mut archive = tar::Archive::new(tar);
    let bad = |e: std::io::Error| Error::InvalidArgument(format!("invalid tar archive: {e}"));
    for entry in archive.entries().map_err(bad)? {
        x.apply(&mut entry.map_err(bad)?)?;
    }
    x.finish()
}

impl Plain {
    /// Places a cleaned archive path below the destination; `None` for the destination itself (left as it is).
    pub(super) fn place(&self, path: Vec<u8>, escaped: bool, raw: &[u8]) -> Result<Option<Vec<u8>>> {
        if escaped {
            return Err(Error::UnsafeArchive(format!(
                "invalid archive: {:?} is outside of the destination",
                String::from_utf8_lossy(raw)
            )));
        }
        if path.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.rebase(&path)))
    }

    /// `dest/path` for a cleaned path.
    pub(super) fn rebase(&self, path: &[u8]) -> Vec<u8> {
        if self.opts.dest.is_empty() {
            return path.to_vec();
        }
        let mut out = Vec::with_capacity(self.opts.dest.len() + 1 + path.len());
        out.extend_from_slice(&self.opts.dest);
        out.push(b'/');
        out.extend_from_slice(path);
        out
    }

    /// Applies the forced owner.
    pub(super) fn adjust(&self, meta: &mut Meta) {
        if let Some((uid, gid)) = self.opts.owner {
            meta.uid = uid;
            meta.gid = gid;
        }
    }

    /// With `no_overwrite_dir_non_dir`, refuses to swap a directory and a non-directory at `name` in `dirfd`.
    pub(super) fn check_overwrite(
        &self,
        dirfd: BorrowedFd<'_>,
        name: &CStr,
        path: &[u8],
        entry_is_dir: bool,
    ) -> Result<()> {
        if !self.opts.no_overwrite_dir_non_dir {
            return Ok(());
        }
        let existing_is_dir = match rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => FileType::from_raw_mode(st.st_mode) == FileType::Directory,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(Error::io(format!("lstat {}", paths::show(path)), e)),
        };
        let dest = paths::show(&self.opts.dest);
        match (existing_is_dir, entry_is_dir) {
            (true, false) => Err(Error::InvalidArgument(format!(
                "cannot overwrite directory {:?} with non-directory {dest:?}",
                paths::show(path)
            ))),
            (false, true) => Err(Error::InvalidArgument(format!(
                "cannot overwrite non-directory {:?} with directory {dest:?}",
                paths::show(path)
            ))),
            _ => Ok(()),
        }
    }
}
