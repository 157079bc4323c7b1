//! /dev contents: device nodes from the spec plus Docker's defaults (mknod, or a bind of the host node where mknod
//! is not allowed), the standard /dev symlinks, and /dev/console for a terminal.

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mounts::ensure_target;
use super::paths::clean;
use crate::syscalls::{FileKind, Syscalls};

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    pub(crate) path: PathBuf,
    /// File type bits (`S_IFCHR`, ...) and permissions.
    pub(crate) mode: u32,
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
}

/// The character devices every container gets (as runc and Docker do), unless the spec lists the same path.
const DEFAULTS: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Docker's /dev symlinks.
const SYMLINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// The spec's devices followed by the defaults it does not override.
pub(crate) fn device_list(spec_devices: &[LinuxDevice]) -> io::Result<Vec<Device>> {
    let mut list = Vec::with_capacity(spec_devices.len() + DEFAULTS.len());
    for d in spec_devices {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => return Err(io::Error::other("device type \"a\" cannot be created")),
        };
        list.push(Device {
            path: clean(d.path()),
            mode: kind | (d.file_mode().unwrap_or(0o666) & 0o7777),
            major: u64::try_from(d.major()).map_err(|_| io::Error::other("negative device major"))?,
            minor: u64::try_from(d.minor()).map_err(|_| io::Error::other("negative device minor"))?,
            uid: d.uid(),
            gid: d.gid(),
        });
    }
    for (path, major, minor) in DEFAULTS {
        if !list.iter().any(|d| d.path == Path::new(path)) {
            let mode = libc::S_IFCHR | 0o666;
            list.push(Device {
                path: path.into(),
                mode,
                major,
                minor,
                uid: None,
                gid: None,
            });
        }
    }
    Ok(list)
}

/// Creates the device nodes. Where mknod is refused (EPERM), an empty file gets a bind of the host's node.
pub(crate) fn create_devices(sys: &mut dyn Syscalls, devices: &[Device]) -> io::Result<()> {
    for d in devices {
        let dev = libc::makedev(d.major as u32, d.minor as u32);
        match sys.mknod(&d.path, d.mode, dev) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                ensure_target(sys, &d.path, FileKind::File)?;
                sys.mount(Some(&d.path), &d.path, None, libc::MS_BIND, None)?;
                continue;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("mknod {}: {e}", d.path.display()),
                ));
            }
        }
        if d.uid.is_some() || d.gid.is_some() {
            sys.chown(&d.path, d.uid, d.gid)?;
        }
    }
    Ok(())
}

/// Creates /dev/fd, /dev/std{in,out,err} and /dev/ptmx (existing entries are kept).
pub(crate) fn create_symlinks(sys: &mut dyn Syscalls) -> io::Result<()> {
    for (target, link) in SYMLINKS {
        match sys.symlink(target, Path::new(link)) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Bind-mounts the terminal (a pty slave, given as a path such as /proc/self/fd/N) onto /dev/console.
pub(crate) fn bind_console(sys: &mut dyn Syscalls, slave: &Path) -> io::Result<()> {
    let console = Path::new("/dev/console");
    ensure_target(sys, console, FileKind::File)?;
    sys.mount(Some(slave), console, None, libc::MS_BIND, None)
}
