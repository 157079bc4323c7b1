//! Creation of single archive entries inside an already resolved parent directory: the final
//! component is never followed, anything in the way is replaced, and owner, mode, xattrs and times
//! are applied in the order that keeps setuid bits and file capabilities.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Uid};
use rustix::io::{Errno, Result};
use tar::EntryType;

use super::{ExtractOptions, Meta};
use crate::fsutil::remove_tree_at;
use crate::xattr;

/// The process umask, read without changing it; all bits when unknown (so modes are always set).
pub(super) fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        })
        .unwrap_or(0o777)
}

/// Whether the mode given to a create call needs a later chmod (special bits, or bits the umask drops).
fn needs_chmod(mode: u32, umask: u32) -> bool {
    mode & 0o7000 != 0 || mode & umask != 0
}

fn create_mode(mode: u32) -> Mode {
    Mode::from_raw_mode(mode & 0o777)
}

/// Runs `create`; if something is in the way, removes it and runs it once more.
fn replacing<T>(dirfd: BorrowedFd<'_>, name: &CStr, mut create: impl FnMut() -> Result<T>) -> Result<T> {
    match create() {
        Err(Errno::EXIST) => {
            remove_tree_at(dirfd, name)?;
            create()
        }
        r => r,
    }
}

fn owners(meta: &Meta) -> (Option<Uid>, Option<Gid>) {
    (Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)))
}

/// Owner, mode, xattrs of an open file or directory (owner first: chown clears setuid bits and
/// capabilities).
fn fd_meta(
    fd: BorrowedFd<'_>,
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
    force_mode: bool,
) -> Result<()> {
    if opts.same_owner {
        let (u, g) = owners(meta);
        rustix::fs::fchown(fd, u, g)?;
    }
    if force_mode || needs_chmod(meta.mode, umask) {
        rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode))?;
    }
    xattr::set_fd(fd, &meta.xattrs)
}

/// Owner, mode and xattrs of an open directory (its times are set after its contents).
pub(super) fn dir_meta(
    fd: BorrowedFd<'_>,
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
    existed: bool,
) -> Result<()> {
    fd_meta(fd, meta, opts, umask, existed)
}

/// A directory; an existing directory is kept (its metadata updated), anything else replaced.
pub(super) fn directory(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
) -> Result<()> {
    let existed = match rustix::fs::mkdirat(dirfd, name, create_mode(meta.mode)) {
        Ok(()) => false,
        Err(Errno::EXIST) => {
            let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                true
            } else {
                remove_tree_at(dirfd, name)?;
                rustix::fs::mkdirat(dirfd, name, create_mode(meta.mode))?;
                false
            }
        }
        Err(e) => return Err(e),
    };
    let fd = open_nofollow(dirfd, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
    dir_meta(fd.as_fd(), meta, opts, umask, existed)
}

fn open_nofollow(dirfd: BorrowedFd<'_>, name: &CStr, flags: OFlags) -> Result<OwnedFd> {
    rustix::fs::openat(
        dirfd,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Creates the regular file `name` (replacing anything in the way), not following it.
fn create_regular(dirfd: BorrowedFd<'_>, name: &CStr, meta: &Meta) -> Result<std::fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = replacing(dirfd, name, || {
        rustix::fs::openat(dirfd, name, flags, create_mode(meta.mode))
    })?;
    Ok(std::fs::File::from(fd))
}

/// Owner, mode, xattrs and times of a regular file whose content is written.
fn finish_regular(file: &std::fs::File, meta: &Meta, opts: &ExtractOptions, umask: u32) -> Result<()> {
    fd_meta(file.as_fd(), meta, opts, umask, false)?;
    rustix::fs::futimens(file, &meta.times)
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::IO)
}

/// A regular file with the entry's content; returns the bytes written.
pub(super) fn regular(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    data: &mut dyn Read,
    buf: &mut [u8],
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
) -> Result<u64> {
    let mut file = create_regular(dirfd, name, meta)?;
    let mut written = 0u64;
    loop {
        let n = match data.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_errno(&e)),
        };
        file.write_all(&buf[..n]).map_err(|e| io_errno(&e))?;
        written += n as u64;
    }
    finish_regular(&file, meta, opts, umask)?;
    Ok(written)
}

/// A regular file whose content is in memory.
pub(super) fn regular_bytes(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    data: &[u8],
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
) -> Result<()> {
    let mut file = create_regular(dirfd, name, meta)?;
    if !data.is_empty() {
        file.write_all(data).map_err(|e| io_errno(&e))?;
    }
    finish_regular(&file, meta, opts, umask)
}

/// A symlink; its target is stored as is and never followed.
pub(super) fn symlink(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    target: &CStr,
    meta: &Meta,
    opts: &ExtractOptions,
) -> Result<()> {
    replacing(dirfd, name, || rustix::fs::symlinkat(target, dirfd, name))?;
    link_meta(dirfd, name, meta, opts)
}

/// Owner, xattrs and times of a non-directory that has no open fd, without following it.
fn link_meta(dirfd: BorrowedFd<'_>, name: &CStr, meta: &Meta, opts: &ExtractOptions) -> Result<()> {
    if opts.same_owner {
        let (u, g) = owners(meta);
        rustix::fs::chownat(dirfd, name, u, g, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    xattr::set_at(dirfd, name, &meta.xattrs)?;
    rustix::fs::utimensat(dirfd, name, &meta.times, AtFlags::SYMLINK_NOFOLLOW)
}

/// A hardlink to `tname` in `tdir` (both already resolved inside the root).
pub(super) fn hardlink(tdir: &OwnedFd, tname: &CStr, dirfd: BorrowedFd<'_>, name: &CStr) -> Result<()> {
    replacing(dirfd, name, || {
        rustix::fs::linkat(tdir, tname, dirfd, name, AtFlags::empty())
    })
}

/// A fifo or device node.
pub(super) fn special(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    kind: EntryType,
    dev: rustix::fs::Dev,
    meta: &Meta,
    opts: &ExtractOptions,
    umask: u32,
) -> Result<()> {
    let ftype = match kind {
        EntryType::Char => FileType::CharacterDevice,
        EntryType::Block => FileType::BlockDevice,
        _ => FileType::Fifo,
    };
    replacing(dirfd, name, || {
        rustix::fs::mknodat(dirfd, name, ftype, create_mode(meta.mode), dev)
    })?;
    if opts.same_owner {
        let (u, g) = owners(meta);
        rustix::fs::chownat(dirfd, name, u, g, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    if needs_chmod(meta.mode, umask) {
        // The node was just created here, so it is not a symlink.
        rustix::fs::chmodat(dirfd, name, Mode::from_raw_mode(meta.mode), AtFlags::empty())?;
    }
    xattr::set_at(dirfd, name, &meta.xattrs)?;
    rustix::fs::utimensat(dirfd, name, &meta.times, AtFlags::SYMLINK_NOFOLLOW)
}

/// An overlay whiteout: a 0/0 character device named `name`.
pub(super) fn overlay_whiteout(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    meta: &Meta,
    opts: &ExtractOptions,
) -> Result<()> {
    replacing(dirfd, name, || {
        rustix::fs::mknodat(dirfd, name, FileType::CharacterDevice, Mode::empty(), 0)
    })?;
    if opts.same_owner {
        let (u, g) = owners(meta);
        rustix::fs::chownat(dirfd, name, u, g, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_needed_only_when_create_cannot_set_the_mode() {
        assert!(!needs_chmod(0o755, 0o022));
        assert!(needs_chmod(0o666, 0o022));
        assert!(needs_chmod(0o4755, 0o022));
        assert!(!needs_chmod(0o777, 0));
        assert!(current_umask() <= 0o777);
    }
}
