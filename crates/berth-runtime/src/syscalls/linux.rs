//! The real `Syscalls`: container paths are opened with `openat2(RESOLVE_IN_ROOT)` under a descriptor of the root
//! and operated on through that descriptor (mounts go onto `/proc/self/fd/N`), so no symlink leads out of the rootfs.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags};

use super::{FileKind, MountFlags, Syscalls};
use crate::rootfs::paths::{mkdir_all_in_root, open_in_root, parent_in_root, resolve_in_root};

pub(crate) struct LinuxSyscalls {
    rootfs: PathBuf,
    /// The container root once it is mounted; container paths resolve under it.
    root: Option<OwnedFd>,
}

impl LinuxSyscalls {
    pub(crate) fn new(rootfs: &Path) -> Self {
        LinuxSyscalls {
            rootfs: rootfs.to_path_buf(),
            root: None,
        }
    }

    /// The container root (once mounted), which container paths resolve under.
    pub(crate) fn root(&self) -> io::Result<BorrowedFd<'_>> {
        self.root
            .as_ref()
            .map(|fd| fd.as_fd())
            .ok_or_else(|| io::Error::other("container root is not mounted yet"))
    }

    fn open_root(&mut self, path: &Path) -> io::Result<()> {
        self.root = Some(rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
        Ok(())
    }
}

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn fd_path(fd: &impl AsRawFd) -> CString {
    // A formatted integer never contains a NUL byte.
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// mount(2) with raw flags; `None` pointers where arguments are absent.
pub(crate) fn raw_mount(
    source: Option<&CString>,
    target: &CString,
    fstype: Option<&CString>,
    flags: MountFlags,
    data: Option<&CString>,
) -> io::Result<()> {
    let ptr = |s: Option<&CString>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: all pointers are NUL-terminated strings that outlive the call, or null.
    let rc = unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data).cast::<libc::c_void>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn kind_of(stat: &rustix::fs::Stat) -> FileKind {
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Directory {
        FileKind::Dir
    } else {
        FileKind::File
    }
}

/// statfs `ST_*` bits mapped to the `MS_*` bits that a bind remount must keep.
fn statfs_to_mount_flags(f_flags: u64) -> MountFlags {
    const MAP: [(u64, MountFlags); 8] = [
        (1, libc::MS_RDONLY),
        (2, libc::MS_NOSUID),
        (4, libc::MS_NODEV),
        (8, libc::MS_NOEXEC),
        (64, libc::MS_MANDLOCK),
        (1024, libc::MS_NOATIME),
        (2048, libc::MS_NODIRATIME),
        (4096, libc::MS_RELATIME),
    ];
    MAP.iter()
        .filter(|(st, _)| f_flags & st != 0)
        .fold(0, |acc, (_, ms)| acc | ms)
}

/// A configured, created overlay filesystem context: layers one `lowerdir+` each, or all in one `lowerdir`.
fn overlay_context(lower: &[PathBuf], upper: &Path, work: &Path, append: bool) -> io::Result<OwnedFd> {
    let fs = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    if append {
        for layer in lower {
            rustix::mount::fsconfig_set_string(&fs, "lowerdir+", layer)?;
        }
    } else {
        rustix::mount::fsconfig_set_string(&fs, "lowerdir", lowerdir_option(lower))?;
    }
    rustix::mount::fsconfig_set_string(&fs, "upperdir", upper)?;
    rustix::mount::fsconfig_set_string(&fs, "workdir", work)?;
    rustix::mount::fsconfig_create(&fs)?;
    Ok(fs)
}

/// Layers joined with ':' for overlay's `lowerdir`, with '\\' and ':' in paths escaped.
fn lowerdir_option(lower: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, layer) in lower.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        for &b in layer.as_os_str().as_bytes() {
            if b == b':' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
    }
    out
}

impl Syscalls for LinuxSyscalls {
    fn set_root_propagation(&mut self, flags: MountFlags) -> io::Result<()> {
        raw_mount(None, &cstr(Path::new("/"))?, None, flags, None)
    }

    fn mount_overlay(&mut self, lower: &[PathBuf], upper: &Path, work: &Path) -> io::Result<()> {
        let fs = match overlay_context(lower, upper, work, true) {
            // Kernels before 6.8 lack "lowerdir+": fall back to one colon-separated "lowerdir".
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => overlay_context(lower, upper, work, false)?,
            other => other?,
        };
        let mnt = rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())?;
        rustix::mount::move_mount(
            &mnt,
            "",
            rustix::fs::CWD,
            &self.rootfs,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )?;
        let rootfs = self.rootfs.clone();
        self.open_root(&rootfs)
    }

    fn bind_rootfs(&mut self) -> io::Result<()> {
        let path = cstr(&self.rootfs)?;
        raw_mount(Some(&path), &path, None, libc::MS_BIND | libc::MS_REC, None)?;
        let rootfs = self.rootfs.clone();
        self.open_root(&rootfs)
    }

    fn kind(&mut self, path: &Path) -> io::Result<Option<FileKind>> {
        match open_in_root(self.root()?, path, OFlags::empty()) {
            Ok(fd) => Ok(Some(kind_of(&rustix::fs::fstat(&fd)?))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn host_kind(&mut self, path: &Path) -> io::Result<FileKind> {
        Ok(kind_of(&rustix::fs::stat(path)?))
    }

    fn create_dir_all(&mut self, path: &Path) -> io::Result<()> {
        mkdir_all_in_root(self.root()?, path).map(drop)
    }

    fn create_file(&mut self, path: &Path) -> io::Result<()> {
        // A dangling symlink in the way is followed (inside the root): the file is created where it points.
        let resolved = resolve_in_root(self.root()?, path)?;
        let (parent, name) = parent_in_root(self.root()?, &resolved)?;
        let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        match rustix::fs::openat(&parent, name, flags, Mode::from_raw_mode(0o644)) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn mount(
        &mut self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        let fd = open_in_root(self.root()?, target, OFlags::empty())?;
        let source = source.map(cstr).transpose()?;
        let fstype = fstype
            .map(|t| CString::new(t).map_err(|_| io::ErrorKind::InvalidInput))
            .transpose()?;
        let data = data
            .map(|d| CString::new(d).map_err(|_| io::ErrorKind::InvalidInput))
            .transpose()?;
        raw_mount(
            source.as_ref(),
            &fd_path(&fd),
            fstype.as_ref(),
            flags,
            data.as_ref(),
        )
    }

    fn bind_self(&mut self, path: &Path) -> io::Result<()> {
        let fd = open_in_root(self.root()?, path, OFlags::empty())?;
        let p = fd_path(&fd);
        raw_mount(Some(&p), &p, None, libc::MS_BIND | libc::MS_REC, None)
    }

    fn mount_flags(&mut self, path: &Path) -> io::Result<MountFlags> {
        let fd = open_in_root(self.root()?, path, OFlags::empty())?;
        let st = rustix::fs::fstatvfs(&fd)?;
        Ok(statfs_to_mount_flags(st.f_flag.bits()))
    }

    fn mknod(&mut self, path: &Path, mode: u32, dev: u64) -> io::Result<()> {
        let (parent, name) = parent_in_root(self.root()?, path)?;
        let name = cstr(Path::new(name))?;
        // SAFETY: `name` is a NUL-terminated string and `parent` an open directory descriptor.
        let rc = unsafe { libc::mknodat(parent.as_raw_fd(), name.as_ptr(), mode, dev) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        let fd = open_in_root(self.root()?, path, OFlags::NOFOLLOW)?;
        let uid = uid.map(rustix::fs::Uid::from_raw);
        let gid = gid.map(rustix::fs::Gid::from_raw);
        Ok(rustix::fs::chownat(&fd, "", uid, gid, AtFlags::EMPTY_PATH)?)
    }

    fn symlink(&mut self, target: &str, link: &Path) -> io::Result<()> {
        let (parent, name) = parent_in_root(self.root()?, link)?;
        Ok(rustix::fs::symlinkat(target, &parent, name)?)
    }

    fn pivot_root(&mut self) -> io::Result<()> {
        rustix::process::fchdir(self.root()?)?;
        // pivot_root(".", "."): the old root ends up stacked under the new one, then is detached.
        rustix::process::pivot_root(".", ".")?;
        let dot = cstr(Path::new("."))?;
        raw_mount(None, &dot, None, libc::MS_SLAVE | libc::MS_REC, None)?;
        rustix::mount::unmount(".", rustix::mount::UnmountFlags::DETACH)?;
        rustix::process::chdir("/")?;
        self.open_root(Path::new("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_joins_and_escapes_layers() {
        let layers = [
            PathBuf::from("/l/top"),
            PathBuf::from("/l/a:b"),
            PathBuf::from("/l/c\\d"),
        ];
        assert_eq!(lowerdir_option(&layers), b"/l/top:/l/a\\:b:/l/c\\\\d".to_vec());
    }

    #[test]
    fn statfs_flags_map_to_mount_flags() {
        assert_eq!(
            statfs_to_mount_flags(1 | 2 | 8),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC
        );
        assert_eq!(statfs_to_mount_flags(4096), libc::MS_RELATIME);
        assert_eq!(statfs_to_mount_flags(0), 0);
    }
}
