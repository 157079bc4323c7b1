//! Mount points inside a container root, made the way the runtime makes them at start (missing parents as 0755
//! directories, symlinks resolved inside the root), so a volume can be attached to a stopped container's tree.

use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::cpath::{ContainerPath, resolve_in_scope};
use crate::error::{Error, Result};

/// Opens (`O_PATH`) the mount point `path` inside `root`, creating it — a directory, or an empty file when `dir` is
/// false — and its missing parents.
pub fn mount_point(root: BorrowedFd<'_>, path: &str, dir: bool) -> Result<OwnedFd> {
    let cp = ContainerPath::parse(path);
    let failed = |e: Errno| Error::io(format!("create mount point {}", cp.show()), e);
    let comps = resolve_in_scope(root, &cp.comps).map_err(failed)?;
    let Some((last, parents)) = comps.split_last() else {
        return root
            .try_clone_to_owned()
            .map_err(|e| Error::io("dup container root", e));
    };
    let walk = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut parent = rustix::fs::openat(root, c".", walk, Mode::empty()).map_err(failed)?;
    for comp in parents {
        match rustix::fs::mkdirat(&parent, comp.as_slice(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(failed(e)),
        }
        parent = rustix::fs::openat(&parent, comp.as_slice(), walk, Mode::empty()).map_err(failed)?;
    }
    if dir {
        match rustix::fs::mkdirat(&parent, last.as_slice(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(failed(e)),
        }
    } else {
        let create = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&parent, last.as_slice(), create, Mode::from_raw_mode(0o755)) {
            Ok(_) | Err(Errno::ISDIR) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    let target = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(&parent, last.as_slice(), target, Mode::empty()).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn mount_points_are_made_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        std::os::unix::fs::symlink("/", root.join("etc/up")).unwrap();
        let fd = crate::fsutil::open_dir(&root).unwrap();
        mount_point(fd.as_fd(), "/data/sub", true).unwrap();
        assert!(root.join("data/sub").is_dir());
        mount_point(fd.as_fd(), "/link/up/file", false).unwrap();
        assert!(root.join("file").is_file());
        assert!(!t.path().join("file").exists());
        mount_point(fd.as_fd(), "/etc", true).unwrap();
        std::fs::write(root.join("plain"), b"").unwrap();
        assert!(mount_point(fd.as_fd(), "/plain/x", true).is_err());
    }
}
