//! Path handling for container paths: lexical cleaning, and resolution inside the container root with
//! `openat2(RESOLVE_IN_ROOT)` so that symlinks and ".." cannot lead out of it.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Cleans a container path lexically: absolute, no ".", "..", or repeated slashes (".." stops at "/").
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The path relative to the root, "." for the root itself.
pub(crate) fn relative(path: &Path) -> &Path {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// Opens a container path as an `O_PATH` descriptor, resolved inside `root`.
pub(crate) fn open_in_root(root: impl AsFd, path: &Path, extra: OFlags) -> io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::CLOEXEC | extra;
    Ok(rustix::fs::openat2(
        root,
        relative(path),
        flags,
        Mode::empty(),
        RESOLVE,
    )?)
}

/// Symlinks followed while resolving one path, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// Resolves every symlink of a container path inside `root` (absolute links restart at the root, ".." stops at
/// it), allowing components that do not exist yet; the result names the same place with no symlinks in it.
pub(crate) fn resolve_in_root(root: impl AsFd, path: &Path) -> io::Result<PathBuf> {
    let root = root.as_fd();
    let mut resolved = PathBuf::from("/");
    let mut pending: VecDeque<OsString> = VecDeque::new();
    push_front(&mut pending, path);
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let dir = match open_in_root(root, &resolved, OFlags::DIRECTORY) {
            Ok(dir) => dir,
            // Below a missing directory nothing exists: the rest is taken as it is.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                resolved.push(&name);
                continue;
            }
            Err(e) => return Err(e),
        };
        match rustix::fs::readlinkat(&dir, &name, Vec::new()) {
            Ok(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                push_front(&mut pending, &target);
            }
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => resolved.push(&name),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(resolved)
}

fn push_front(pending: &mut VecDeque<OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => pending.push_front(n.to_os_string()),
            Component::ParentDir => pending.push_front(OsString::from("..")),
            _ => {}
        }
    }
}

/// Creates a container directory and its missing parents (mode 0755), following symlinks inside the root, and
/// returns a descriptor of it.
pub(crate) fn mkdir_all_in_root(root: impl AsFd, path: &Path) -> io::Result<OwnedFd> {
    let root = root.as_fd();
    match open_in_root(root, path, OFlags::DIRECTORY) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    let resolved = resolve_in_root(root, path)?;
    let mut dir = open_in_root(root, Path::new("/"), OFlags::DIRECTORY)?;
    for comp in resolved.components() {
        let Component::Normal(name) = comp else { continue };
        match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        // The resolved path has no symlinks: one appearing now is refused.
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        dir = rustix::fs::openat(&dir, name, flags, Mode::empty())?;
    }
    Ok(dir)
}

/// The parent directory (created if missing) and final name of a container path.
pub(crate) fn parent_in_root(root: impl AsFd, path: &Path) -> io::Result<(OwnedFd, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no final component"))?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    Ok((mkdir_all_in_root(root, parent)?, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn clean_removes_dots_and_clamps_parent() {
        assert_eq!(clean(Path::new("a/./b//c")), PathBuf::from("/a/b/c"));
        assert_eq!(clean(Path::new("/../../etc/x/..")), PathBuf::from("/etc"));
        assert_eq!(clean(Path::new("/")), PathBuf::from("/"));
        assert_eq!(relative(Path::new("/")), Path::new("."));
        assert_eq!(relative(Path::new("/proc/sys")), Path::new("proc/sys"));
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        // An absolute symlink and a ".." symlink, both pointing outside, must stay inside the root.
        symlink(outside.path(), root.join("abs")).unwrap();
        symlink("../../../../..", root.join("up")).unwrap();
        let rootfd = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();

        mkdir_all_in_root(&rootfd, Path::new("/abs/made/here")).unwrap();
        assert!(
            root.join(outside.path().strip_prefix("/").unwrap())
                .join("made/here")
                .is_dir()
        );
        assert!(!outside.path().join("made").exists());

        mkdir_all_in_root(&rootfd, Path::new("/up/etc/x")).unwrap();
        assert!(root.join("etc/x").is_dir());

        // A dangling relative symlink is followed inside the root too.
        symlink("../run/dir", root.join("etc/link")).unwrap();
        assert_eq!(
            resolve_in_root(&rootfd, Path::new("/etc/link/f")).unwrap(),
            PathBuf::from("/run/dir/f")
        );
        mkdir_all_in_root(&rootfd, Path::new("/etc/link/sub")).unwrap();
        assert!(root.join("run/dir/sub").is_dir());
        symlink("loop", root.join("loop")).unwrap();
        assert!(resolve_in_root(&rootfd, Path::new("/loop/x")).is_err());

        let (parent, name) = parent_in_root(&rootfd, Path::new("/a/b/file")).unwrap();
        assert_eq!(name, "file");
        drop(parent);
        assert!(root.join("a/b").is_dir());
        assert!(open_in_root(&rootfd, Path::new("/missing"), OFlags::empty()).is_err());
    }
}
