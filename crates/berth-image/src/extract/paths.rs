//! Archive path handling for extraction: lexical cleaning (`..` and absolute paths stay inside the
//! root), and parent directories opened with `openat2(RESOLVE_IN_ROOT)` relative to the layer root,
//! created when missing, with the last one cached.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Error, IoContext, Result};

/// Cleans an archive path: drops empty and `.` components and applies `..` lexically, never above
/// the root. Returns the components joined by `/` (empty for the root) and whether a `..` tried to
/// climb above the root.
pub(super) fn clean(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut escaped = false;
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => escaped |= parts.pop().is_none(),
            c => parts.push(c),
        }
    }
    (parts.join(&b'/'), escaped)
}

/// Splits a cleaned path into parent and last component.
pub(super) fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// A path for display in messages.
pub(super) fn show(path: &[u8]) -> String {
    format!("/{}", String::from_utf8_lossy(path))
}

/// A C string from archive bytes (an embedded NUL is an error).
pub(super) fn cstring(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::UnsafeArchive(format!("invalid path {}", show(bytes))))
}

/// Opens `path` inside `root`: symlinks and `..` are resolved as if `root` were `/`.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let path: &[u8] = if path.is_empty() { b"." } else { path };
    loop {
        match rustix::fs::openat2(
            root,
            path,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            r => return r,
        }
    }
}

/// The layer root and a cache of the last parent directory used (shared, so file-creation workers can hold it).
pub(super) struct Dirs {
    root: Arc<OwnedFd>,
    cached_path: Vec<u8>,
    cached: Option<Arc<OwnedFd>>,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY);

impl Dirs {
    pub(super) fn new(root: OwnedFd) -> Dirs {
        Dirs {
            root: Arc::new(root),
            cached_path: Vec::new(),
            cached: None,
        }
    }

    pub(super) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Forgets the cached directory if `path` is it or one of its ancestors (it may be replaced).
    pub(super) fn invalidate(&mut self, path: &[u8]) {
        let c = &self.cached_path;
        if c.starts_with(path)
            && (c.len() == path.len() || c.get(path.len()) == Some(&b'/') || path.is_empty())
        {
            self.cached = None;
        }
    }

    /// The directory `parent` (a cleaned path), created with mode 0755 where missing.
    pub(super) fn get(&mut self, parent: &[u8]) -> Result<BorrowedFd<'_>> {
        Ok(self.get_shared(parent)?.as_fd())
    }

    /// [`Dirs::get`], as a handle that outlives the cache entry.
    pub(super) fn get_shared(&mut self, parent: &[u8]) -> Result<&Arc<OwnedFd>> {
        if parent.is_empty() {
            return Ok(&self.root);
        }
        if self.cached.is_none() || self.cached_path != parent {
            let fd = match open_in_root(self.root.as_fd(), parent, DIR_FLAGS) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => self.make_dirs(parent)?,
                Err(Errno::NOTDIR) | Err(Errno::LOOP) => return Err(not_a_dir(parent)),
                Err(e) => return Err(Error::io(format!("open {}", show(parent)), e)),
            };
            self.cached_path.clear();
            self.cached_path.extend_from_slice(parent);
            self.cached = Some(Arc::new(fd));
        }
        Ok(self.cached.as_ref().unwrap_or(&self.root))
    }

    /// Creates the missing directories of `path` below its deepest existing ancestor. A dangling
    /// symlink on the way is followed inside the root (its target directories are created).
    fn make_dirs(&self, path: &[u8]) -> Result<OwnedFd> {
        let mut path = path.to_vec();
        for _ in 0..40 {
            match self.make_dirs_once(&path)? {
                Made::Dir(fd) => return Ok(fd),
                Made::Redirect(next) => path = next,
            }
        }
        Err(Error::UnsafeArchive(format!(
            "cannot create {}: too many levels of symbolic links",
            show(&path)
        )))
    }

    fn make_dirs_once(&self, path: &[u8]) -> Result<Made> {
        let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        let mut start = 0;
        let mut base = None;
        for i in (1..comps.len()).rev() {
            match open_in_root(self.root.as_fd(), &comps[..i].join(&b'/'), DIR_FLAGS) {
                Ok(fd) => {
                    base = Some(fd);
                    start = i;
                    break;
                }
                Err(Errno::NOENT) => continue,
                Err(_) => return Err(not_a_dir(path)),
            }
        }
        let mut base = match base {
            Some(fd) => fd,
            None => self.root.try_clone().ctx(|| "dup layer root".into())?,
        };
        for (k, comp) in comps.iter().enumerate().skip(start) {
            let name = cstring(comp)?;
            match rustix::fs::mkdirat(&base, name.as_c_str(), Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(Error::io(format!("create directory {}", show(path)), e)),
            }
            let flags = DIR_FLAGS | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(&base, name.as_c_str(), flags, Mode::empty()) {
                Ok(fd) => base = fd,
                Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                    let target = rustix::fs::readlinkat(&base, name.as_c_str(), Vec::new())
                        .map_err(|_| not_a_dir(path))?;
                    let target = target.as_bytes();
                    let mut next = if target.starts_with(b"/") {
                        Vec::new()
                    } else {
                        comps[..k].join(&b'/')
                    };
                    next.push(b'/');
                    next.extend_from_slice(target);
                    for rest in &comps[k + 1..] {
                        next.push(b'/');
                        next.extend_from_slice(rest);
                    }
                    return Ok(Made::Redirect(clean(&next).0));
                }
                Err(e) => return Err(Error::io(format!("open {}", show(path)), e)),
            }
        }
        Ok(Made::Dir(base))
    }
}

/// The outcome of one directory creation pass.
enum Made {
    Dir(OwnedFd),
    /// A symlink was in the way: create this path (its resolution) instead.
    Redirect(Vec<u8>),
}

fn not_a_dir(path: &[u8]) -> Error {
    Error::UnsafeArchive(format!(
        "cannot create {}: a path component is not a directory",
        show(path)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_stays_in_root() {
        assert_eq!(clean(b"./a//b/./c/"), (b"a/b/c".to_vec(), false));
        assert_eq!(clean(b"/etc/passwd"), (b"etc/passwd".to_vec(), false));
        assert_eq!(clean(b"../../etc/x"), (b"etc/x".to_vec(), true));
        assert_eq!(clean(b"a/../../b"), (b"b".to_vec(), true));
        assert_eq!(clean(b"a/b/../c"), (b"a/c".to_vec(), false));
        assert_eq!(clean(b"./"), (Vec::new(), false));
        assert_eq!(split_last(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_last(b"c"), (&b""[..], &b"c"[..]));
    }

    #[test]
    fn parents_are_created_inside_root_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink("/", root.join("up")).unwrap();
        let fd = crate::fsutil::open_dir(&root).unwrap();
        let mut dirs = Dirs::new(fd);
        dirs.get(b"up/x/y").unwrap();
        assert!(root.join("x/y").is_dir());
        assert!(!t.path().join("x").exists());
        dirs.invalidate(b"up");
        assert!(dirs.cached.is_none());
        std::fs::write(root.join("file"), b"").unwrap();
        assert!(matches!(dirs.get(b"file/sub"), Err(Error::UnsafeArchive(_))));
    }
}
