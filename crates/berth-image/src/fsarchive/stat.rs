//! Docker's container path stat (the `X-Docker-Container-Path-Stat` header): locating the resource a path names
//! inside a root — the directories resolved in scope, the last component not followed unless the path ends with
//! `/` or `/.` — and describing it with Go's `os.FileMode` bits and an RFC 3339 time.

use std::ffi::CString;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, OFlags, Stat};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::format_description;

use super::cpath::{ContainerPath, resolve_in_scope};
use crate::error::{Error, Result};
use crate::extract::open_in_root;

/// Stat of a container path, in the JSON shape of Docker's `ContainerPathStat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// A Go `os.FileMode`: permission bits plus Go's type and special bits.
    pub mode: u32,
    /// RFC 3339 in UTC with nanoseconds (trailing zeros dropped, as Go prints it).
    pub mtime: String,
    /// For a symlink, its target fully resolved inside the container, as an absolute path.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// The resource a container path names: the directory holding it and its name there, or (`name: None`) the
/// directory itself.
pub(crate) struct Target {
    pub(crate) path: ContainerPath,
    pub(crate) dir: OwnedFd,
    pub(crate) name: Option<CString>,
    pub(crate) stat: Stat,
}

/// Finds what `path` names inside `root`. A missing path is [`Error::NotFound`] holding the path as given.
pub(crate) fn locate(root: BorrowedFd<'_>, path: &str) -> Result<Target> {
    let cp = ContainerPath::parse(path);
    let failed = |e: Errno| match e {
        Errno::NOENT => Error::NotFound(path.to_string()),
        e => Error::io(format!("lstat {}", cp.show()), e),
    };
    let Some((last, parents)) = cp.comps.split_last().filter(|_| !cp.names_dir()) else {
        let dir = open_in_root(root, &cp.joined(), OFlags::PATH | OFlags::DIRECTORY).map_err(failed)?;
        let stat = rustix::fs::fstat(&dir).map_err(failed)?;
        return Ok(Target {
            path: cp,
            dir,
            name: None,
            stat,
        });
    };
    let dir = open_in_root(root, &parents.join(&b'/'), OFlags::PATH | OFlags::DIRECTORY).map_err(failed)?;
    let name = CString::new(last.as_slice()).map_err(|_| Error::NotFound(path.to_string()))?;
    let stat = rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW).map_err(failed)?;
    Ok(Target {
        path: cp,
        dir,
        name: Some(name),
        stat,
    })
}

/// Docker's stat of `path` inside `root`.
pub fn stat_path(root: BorrowedFd<'_>, path: &str) -> Result<PathStat> {
    let target = locate(root, path)?;
    target.path_stat(root)
}

impl Target {
    /// The stat Docker reports for this target.
    pub(crate) fn path_stat(&self, root: BorrowedFd<'_>) -> Result<PathStat> {
        let st = &self.stat;
        let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            let resolved = resolve_in_scope(root, &self.path.comps)
                .map_err(|e| Error::io(format!("resolve {}", self.path.show()), e))?;
            format!("/{}", String::from_utf8_lossy(&resolved.join(&b'/')))
        } else {
            String::new()
        };
        Ok(PathStat {
            name: String::from_utf8_lossy(&self.path.base()).into_owned(),
            size: st.st_size,
            mode: go_file_mode(st.st_mode),
            mtime: go_time(st.st_mtime, st.st_mtime_nsec as i64),
            link_target,
        })
    }
}

/// Go's `os.FileMode` for a Unix `st_mode`.
pub(crate) fn go_file_mode(st_mode: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const NAMED_PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR_DEVICE: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let mut mode = st_mode & 0o777;
    mode |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => DIR,
        FileType::Symlink => SYMLINK,
        FileType::BlockDevice => DEVICE,
        FileType::CharacterDevice => DEVICE | CHAR_DEVICE,
        FileType::Fifo => NAMED_PIPE,
        FileType::Socket => SOCKET,
        _ => 0,
    };
    for (bit, go) in [(0o4000, SETUID), (0o2000, SETGID), (0o1000, STICKY)] {
        if st_mode & bit != 0 {
            mode |= go;
        }
    }
    mode
}

/// A file time as Go's `time.Time` marshals to JSON in UTC: RFC 3339 with up to nine fraction digits, trailing
/// zeros dropped.
pub(crate) fn go_time(secs: i64, nanos: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut s = t
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    if nanos > 0 {
        let frac = format!("{:09}", nanos.min(999_999_999));
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn go_modes_and_times() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), 2_147_484_141);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), 134_218_239);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o644), 420);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o4755), (1 << 23) | 0o755);
        assert_eq!(
            go_file_mode(libc::S_IFDIR | 0o1777),
            (1 << 31) | (1 << 20) | 0o777
        );
        assert_eq!(go_file_mode(libc::S_IFCHR | 0o666), (1 << 26) | (1 << 21) | 0o666);
        assert_eq!(go_file_mode(libc::S_IFIFO | 0o600), (1 << 25) | 0o600);
        assert_eq!(go_time(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            go_time(1_795_403_482, 66_187_009),
            "2026-11-23T03:11:22.066187009Z"
        );
        assert_eq!(go_time(1, 500_000_000), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn stat_follows_docker_rules() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etclink")).unwrap();
        let fd = crate::fsutil::open_dir(root).unwrap();
        let st = |p: &str| stat_path(fd.as_fd(), p);
        let passwd = st("etc/passwd").unwrap();
        assert_eq!(
            (passwd.name.as_str(), passwd.size, passwd.mode & 0o777),
            ("passwd", 26, 0o644)
        );
        let link = st("/etc/link").unwrap();
        assert_eq!(link.mode >> 27 & 1, 1);
        assert_eq!((link.link_target.as_str(), link.size), ("/etc/passwd", 11));
        let followed = st("/etclink/").unwrap();
        assert_eq!((followed.name.as_str(), followed.mode >> 31), ("etclink", 1));
        assert_eq!(st("/etc/.").unwrap().name, ".");
        assert_eq!(st("/").unwrap().name, "/");
        assert!(matches!(st("/etc/nope"), Err(Error::NotFound(p)) if p == "/etc/nope"));
        assert!(matches!(st("/nope/x"), Err(Error::NotFound(_))));
        let e = st("/etc/passwd/").unwrap_err();
        assert_eq!(e.to_string(), "lstat /etc/passwd/: Not a directory (os error 20)");
    }
}
