//! After the mounts: switching root with pivot_root, then the steps that lock the new root down — masked paths,
//! read-only paths, a read-only root and the requested root propagation.

use std::io;
use std::path::Path;

use super::paths::clean;
use crate::syscalls::{FileKind, MountFlags, Syscalls};

/// Hides each path: a read-only empty tmpfs over directories, /dev/null over anything else; missing paths are
/// skipped.
pub(crate) fn mask_paths<S: AsRef<str>>(sys: &mut dyn Syscalls, paths: &[S]) -> io::Result<()> {
    for p in paths {
        let path = clean(Path::new(p.as_ref()));
        match sys.kind(&path)? {
            None => {}
            Some(FileKind::Dir) => sys.mount(
                Some(Path::new("tmpfs")),
                &path,
                Some("tmpfs"),
                libc::MS_RDONLY,
                None,
            )?,
            Some(FileKind::File) => {
                sys.mount(Some(Path::new("/dev/null")), &path, None, libc::MS_BIND, None)?
            }
        }
    }
    Ok(())
}

/// Makes each path read-only with a bind onto itself and a read-only remount that keeps its other flags; missing
/// paths are skipped.
pub(crate) fn readonly_paths<S: AsRef<str>>(sys: &mut dyn Syscalls, paths: &[S]) -> io::Result<()> {
    for p in paths {
        let path = clean(Path::new(p.as_ref()));
        if sys.kind(&path)?.is_none() {
            continue;
        }
        sys.bind_self(&path)?;
        remount_readonly(sys, &path, libc::MS_REC)?;
    }
    Ok(())
}

/// Remounts the mount at `path` read-only, keeping its nosuid/nodev/noexec/atime flags.
pub(crate) fn remount_readonly(sys: &mut dyn Syscalls, path: &Path, extra: MountFlags) -> io::Result<()> {
    let keep = sys.mount_flags(path)?;
    let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | extra | keep;
    sys.mount(None, path, None, flags, None)
}
