//! Extended attributes: listing, reading and setting them on an open file, or on a directory entry
//! (via its parent fd) without following symlinks.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::io::{Errno, Result};

/// A name/value list of extended attributes.
pub(crate) type Xattrs = Vec<(CString, Vec<u8>)>;

/// Path that reaches `name` inside the directory `dirfd` without resolving `name` itself.
fn at_path(dirfd: BorrowedFd<'_>, name: &CStr) -> CString {
    let mut p = format!("/proc/self/fd/{}/", dirfd.as_raw_fd()).into_bytes();
    p.extend_from_slice(name.to_bytes());
    // A path from a CStr and a formatted number has no interior NUL.
    CString::new(p).unwrap_or_default()
}

/// Reads into a growing buffer, retrying when the value grew in between (ERANGE).
fn read_sized(
    query: impl Fn() -> Result<usize>,
    mut read: impl FnMut(&mut [u8]) -> Result<usize>,
) -> Result<Vec<u8>> {
    let mut size = query()?;
    loop {
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => size = query()?.max(size * 2),
            Err(e) => return Err(e),
        }
    }
}

fn split_names(list: &[u8]) -> impl Iterator<Item = CString> + '_ {
    list.split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| CString::new(n).unwrap_or_default())
}

fn unsupported(e: Errno) -> bool {
    e == Errno::NOTSUP || e == Errno::OPNOTSUPP
}

/// All extended attributes of an open file (empty where the filesystem has none).
pub(crate) fn list_fd(fd: BorrowedFd<'_>) -> Result<Xattrs> {
    let names = match read_sized(
        || rustix::fs::flistxattr_query(fd),
        |b| rustix::fs::flistxattr(fd, b),
    ) {
        Err(e) if unsupported(e) => return Ok(Vec::new()),
        r => r?,
    };
    let mut out = Vec::new();
    for name in split_names(&names) {
        match read_sized(
            || rustix::fs::fgetxattr_query(fd, name.as_c_str()),
            |b| rustix::fs::fgetxattr(fd, name.as_c_str(), b),
        ) {
            Ok(v) => out.push((name, v)),
            Err(Errno::NODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// All extended attributes of `name` in `dirfd`, not following a symlink.
pub(crate) fn list_at(dirfd: BorrowedFd<'_>, name: &CStr) -> Result<Xattrs> {
    let path = at_path(dirfd, name);
    let names = match read_sized(
        || rustix::fs::llistxattr_query(path.as_c_str()),
        |b| rustix::fs::llistxattr(path.as_c_str(), b),
    ) {
        Err(e) if unsupported(e) => return Ok(Vec::new()),
        r => r?,
    };
    let mut out = Vec::new();
    for key in split_names(&names) {
        match read_sized(
            || rustix::fs::lgetxattr_query(path.as_c_str(), key.as_c_str()),
            |b| rustix::fs::lgetxattr(path.as_c_str(), key.as_c_str(), b),
        ) {
            Ok(v) => out.push((key, v)),
            Err(Errno::NODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One attribute of an open file, `None` when absent or unsupported.
pub(crate) fn get_fd(fd: BorrowedFd<'_>, key: &CStr) -> Result<Option<Vec<u8>>> {
    match read_sized(
        || rustix::fs::fgetxattr_query(fd, key),
        |b| rustix::fs::fgetxattr(fd, key, b),
    ) {
        Ok(v) => Ok(Some(v)),
        Err(Errno::NODATA) => Ok(None),
        Err(e) if unsupported(e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One attribute of `name` in `dirfd` (not following symlinks), `None` when absent or unsupported.
pub(crate) fn get_at(dirfd: BorrowedFd<'_>, name: &CStr, key: &CStr) -> Result<Option<Vec<u8>>> {
    let path = at_path(dirfd, name);
    match read_sized(
        || rustix::fs::lgetxattr_query(path.as_c_str(), key),
        |b| rustix::fs::lgetxattr(path.as_c_str(), key, b),
    ) {
        Ok(v) => Ok(Some(v)),
        Err(Errno::NODATA) => Ok(None),
        Err(e) if unsupported(e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets attributes on an open file.
pub(crate) fn set_fd(fd: BorrowedFd<'_>, attrs: &[(CString, Vec<u8>)]) -> Result<()> {
    for (k, v) in attrs {
        rustix::fs::fsetxattr(fd, k.as_c_str(), v, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

/// Sets attributes on `name` in `dirfd` without following a symlink.
pub(crate) fn set_at(dirfd: BorrowedFd<'_>, name: &CStr, attrs: &[(CString, Vec<u8>)]) -> Result<()> {
    if attrs.is_empty() {
        return Ok(());
    }
    let path = at_path(dirfd, name);
    for (k, v) in attrs {
        rustix::fs::lsetxattr(path.as_c_str(), k.as_c_str(), v, rustix::fs::XattrFlags::empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn set_and_list_user_xattrs() {
        let t = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(t.path().join("f")).unwrap();
        let attrs = vec![(CString::new("user.berth").unwrap(), b"v1".to_vec())];
        set_fd(f.as_fd(), &attrs).unwrap();
        assert_eq!(list_fd(f.as_fd()).unwrap(), attrs);
        let dir = std::fs::File::open(t.path()).unwrap();
        let name = CString::new("f").unwrap();
        assert_eq!(list_at(dir.as_fd(), &name).unwrap(), attrs);
        assert_eq!(get_at(dir.as_fd(), &name, c"user.berth").unwrap().unwrap(), b"v1");
        assert_eq!(get_fd(f.as_fd(), c"user.none").unwrap(), None);
        let other = CString::new("g").unwrap();
        std::fs::File::create(t.path().join("g")).unwrap();
        set_at(dir.as_fd(), &other, &attrs).unwrap();
        assert_eq!(list_at(dir.as_fd(), &other).unwrap(), attrs);
    }
}
