//! Container paths as Docker's archive endpoints take them — made absolute and cleaned lexically, keeping a trailing
//! `/` ("the directory itself", following a symlink) or `/.` ("its contents") — and their resolution inside a root
//! with every symlink expanded in the root's scope, never on the host.

use std::os::fd::BorrowedFd;

use rustix::fs::{FileType, OFlags};
use rustix::io::Errno;

use crate::extract::open_in_root;

/// Symlinks followed before resolution gives up (as Go's `FollowSymlinkInScope`).
const MAX_LINKS: usize = 255;

/// What a path ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trailing {
    None,
    /// `/`: the directory itself, a final symlink followed.
    Slash,
    /// `/.` (or an empty path): the directory's contents.
    Dot,
}

/// An absolute, lexically cleaned container path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerPath {
    pub(crate) comps: Vec<Vec<u8>>,
    pub(crate) trailing: Trailing,
}

impl ContainerPath {
    /// Parses a path as Docker does: relative paths are taken from `/`, `.` and `..` are applied lexically (never
    /// above `/`).
    pub(crate) fn parse(path: &str) -> ContainerPath {
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in path.as_bytes().split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    comps.pop();
                }
                c => comps.push(c.to_vec()),
            }
        }
        let stripped = path.trim_end_matches('/');
        let trailing = if path.is_empty() || stripped == "." || stripped.ends_with("/.") {
            Trailing::Dot
        } else if path.ends_with('/') {
            Trailing::Slash
        } else {
            Trailing::None
        };
        ContainerPath { comps, trailing }
    }

    /// Whether the path names a directory through its last component, following it (`/`, `/.`, the root).
    pub(crate) fn names_dir(&self) -> bool {
        self.trailing != Trailing::None || self.comps.is_empty()
    }

    /// The components joined, relative to the root (empty for the root).
    pub(crate) fn joined(&self) -> Vec<u8> {
        self.comps.join(&b'/')
    }

    /// The name Docker gives the resource (Go's `filepath.Base` of the absolute path): `.` for contents, `/` for
    /// the root, else the last component.
    pub(crate) fn base(&self) -> Vec<u8> {
        match (self.trailing, self.comps.last()) {
            (Trailing::Dot, _) => b".".to_vec(),
            (_, None) => b"/".to_vec(),
            (_, Some(last)) => last.clone(),
        }
    }

    /// The path as messages show it, e.g. `/etc/passwd/`.
    pub(crate) fn show(&self) -> String {
        let mut s = format!("/{}", String::from_utf8_lossy(&self.joined()));
        match self.trailing {
            Trailing::Dot if self.comps.is_empty() => s.push('.'),
            Trailing::Dot => s.push_str("/."),
            Trailing::Slash if !self.comps.is_empty() => s.push('/'),
            _ => {}
        }
        s
    }
}

/// Expands every symlink of `comps` inside `root` (all of them, the last one included) and returns the resulting
/// components. From the first missing component on, the rest is kept as it is (applied lexically); a non-directory
/// in the middle is `ENOTDIR`.
pub(crate) fn resolve_in_scope(root: BorrowedFd<'_>, comps: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Errno> {
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut todo: Vec<Vec<u8>> = comps.iter().rev().cloned().collect();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(c);
        let flags = OFlags::PATH | OFlags::NOFOLLOW;
        let fd = match open_in_root(root, &done.join(&b'/'), flags) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                for rest in todo.into_iter().rev() {
                    match rest.as_slice() {
                        b"" | b"." => {}
                        b".." => {
                            done.pop();
                        }
                        _ => done.push(rest),
                    }
                }
                return Ok(done);
            }
            Err(e) => return Err(e),
        };
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::LOOP);
        }
        let target = rustix::fs::readlinkat(&fd, c"", Vec::new())?;
        let target = target.as_bytes();
        if target.starts_with(b"/") {
            done.clear();
        } else {
            done.pop();
        }
        todo.extend(target.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn p(s: &str) -> ContainerPath {
        ContainerPath::parse(s)
    }

    #[test]
    fn parsing_keeps_docker_trailers() {
        assert_eq!(p("/etc").comps, vec![b"etc".to_vec()]);
        assert_eq!(p("etc/../usr//bin/").joined(), b"usr/bin");
        assert_eq!(p("/etc/").trailing, Trailing::Slash);
        assert_eq!(p("/etc/.").trailing, Trailing::Dot);
        assert_eq!(p("/etc/./").trailing, Trailing::Dot);
        assert_eq!(p("").trailing, Trailing::Dot);
        assert_eq!(p("/../..").comps.len(), 0);
        assert_eq!(p("/etc/").base(), b"etc");
        assert_eq!(p("/etc/.").base(), b".");
        assert_eq!(p("/").base(), b"/");
        assert_eq!(p("/bin/sh").base(), b"sh");
        assert_eq!(p("/etc/.").show(), "/etc/.");
        assert_eq!(p("/.").show(), "/.");
        assert_eq!(p("/etc/").show(), "/etc/");
        assert!(p("/").names_dir() && p("/x/").names_dir() && !p("/x").names_dir());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("real/dir")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../real/dir", root.join("real/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("hostetc")).unwrap();
        let fd = crate::fsutil::open_dir(root).unwrap();
        let r = |s: &str| {
            resolve_in_scope(fd.as_fd(), &p(s).comps).map(|c| String::from_utf8(c.join(&b'/')).unwrap())
        };
        assert_eq!(r("/abs/dir").unwrap(), "real/dir");
        assert_eq!(r("/real/up").unwrap(), "real/dir");
        assert_eq!(r("/abs/missing/../x").unwrap(), "real/x");
        assert_eq!(r("/hostetc/passwd").unwrap(), "etc/passwd");
        assert_eq!(r("/loop"), Err(Errno::LOOP));
        std::fs::write(root.join("file"), b"").unwrap();
        assert_eq!(r("/file/x"), Err(Errno::NOTDIR));
    }
}
