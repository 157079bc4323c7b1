//! Filesystem helpers shared by the store: temp names, atomic file writes (temp + fsync + rename + dir
//! fsync), and a recursive removal that never follows symlinks nor crosses mount points.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{IoContext, Result};

/// Prefix of every temporary file or directory the store creates; such names are ignored when
/// loading and removed by garbage collection.
pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// A fresh temporary name: `.tmp-<what>-<random hex>`.
pub(crate) fn tmp_name(what: &str) -> String {
    format!("{TMP_PREFIX}{what}-{:016x}", rand::random::<u64>())
}

pub(crate) fn is_tmp(name: &str) -> bool {
    name.starts_with(TMP_PREFIX)
}

/// Opens a directory for use as a `*at` base.
pub(crate) fn open_dir(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", path.display()))
}

/// Writes `data` to `dir/name` atomically and durably: readers see the old or the new file, never a
/// partial one, and a crash leaves at most a temp file behind.
pub(crate) fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<()> {
    let dirfd = open_dir(dir)?;
    let tmp = tmp_name(name);
    let ctx = || format!("write {}", dir.join(name).display());
    let fd = rustix::fs::openat(
        &dirfd,
        tmp.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .ctx(ctx)?;
    let mut file = std::fs::File::from(fd);
    let written = file.write_all(data).and_then(|_| file.sync_all());
    drop(file);
    if let Err(e) = written
        .ctx(ctx)
        .and_then(|_| rustix::fs::renameat(&dirfd, tmp.as_str(), &dirfd, name).ctx(ctx))
    {
        let _ = rustix::fs::unlinkat(&dirfd, tmp.as_str(), AtFlags::empty());
        return Err(e);
    }
    rustix::fs::fsync(&dirfd).ctx(ctx)
}

/// Reads a file, `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::error::Error::io(format!("read {}", path.display()), e)),
    }
}

/// Removes `path` and everything below it; a missing path is fine.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let dirfd = match rustix::fs::openat(
        CWD,
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Err(Errno::NOENT) => return Ok(()),
        r => r.ctx(|| format!("open {}", parent.display()))?,
    };
    remove_tree_at(dirfd.as_fd(), name).ctx(|| format!("remove {}", path.display()))
}

/// Removes `name` in `dirfd` recursively without following symlinks; refuses (EBUSY) to descend into
/// another filesystem, so a mount left on a directory never gets emptied.
pub(crate) fn remove_tree_at<P: rustix::path::Arg + Copy>(
    dirfd: BorrowedFd<'_>,
    name: P,
) -> rustix::io::Result<()> {
    match rustix::fs::unlinkat(dirfd, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let parent_dev = rustix::fs::fstat(dirfd)?.st_dev;
    let fd = match rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Err(Errno::NOENT) => return Ok(()),
        r => r?,
    };
    if rustix::fs::fstat(&fd)?.st_dev != parent_dev {
        return Err(Errno::BUSY);
    }
    empty_dir(fd)?;
    match rustix::fs::unlinkat(dirfd, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The entries of a directory (without `.` and `..`), with their types from `getdents`.
pub(crate) fn dir_entries(dir: &mut Dir) -> rustix::io::Result<Vec<(CString, FileType)>> {
    let mut names = Vec::new();
    for entry in dir {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push((entry.file_name().to_owned(), entry.file_type()));
        }
    }
    Ok(names)
}

/// Removes everything inside the directory `fd`.
pub(crate) fn empty_dir(fd: OwnedFd) -> rustix::io::Result<()> {
    let mut dir = Dir::new(fd)?;
    let names = dir_entries(&mut dir)?;
    let fd = dir.fd()?;
    for (name, kind) in &names {
        if *kind == FileType::Directory {
            remove_tree_at(fd, name.as_c_str())?;
        } else {
            match rustix::fs::unlinkat(fd, name.as_c_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(Errno::ISDIR) => remove_tree_at(fd, name.as_c_str())?,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let t = tempfile::tempdir().unwrap();
        write_atomic(t.path(), "f.json", b"one").unwrap();
        write_atomic(t.path(), "f.json", b"two").unwrap();
        assert_eq!(std::fs::read(t.path().join("f.json")).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert!(read_optional(&t.path().join("missing")).unwrap().is_none());
    }

    #[test]
    fn remove_tree_does_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), b"x").unwrap();
        let victim = t.path().join("victim");
        std::fs::create_dir_all(victim.join("a/b")).unwrap();
        std::fs::write(victim.join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink(&outside, victim.join("a/link")).unwrap();
        remove_tree(&victim).unwrap();
        assert!(!victim.exists());
        assert!(outside.join("keep").exists());
        remove_tree(&victim).unwrap();
        assert!(is_tmp(&tmp_name("x")));
    }
}
