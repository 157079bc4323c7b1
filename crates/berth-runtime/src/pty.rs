//! Pseudo-terminals for `-t`: a pty allocated from the container's own devpts instance (its slave becomes the
//! process's controlling terminal and stdio, its master goes to the caller), and window-size changes.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::pty::OpenptFlags;

use crate::error::Error;
use crate::rootfs::paths::open_in_root;

/// The `/dev/pts/ptmx` device number (5:2) in every devpts instance.
const PTMX: (u32, u32) = (5, 2);

/// A new terminal: the master side for the caller and the slave for the process.
#[derive(Debug)]
pub(crate) struct Pty {
    pub(crate) master: OwnedFd,
    pub(crate) slave: OwnedFd,
}

/// Opens a new pty of the devpts instance mounted at `/dev/pts` of the directory tree `root`, and gives it the
/// window size `size` (rows, columns). `/dev/pts/ptmx` is resolved inside `root` (no symlink leads out) and checked
/// to be a devpts ptmx before it is opened (through /proc/self/fd, which must be the host's procfs); the slave comes
/// from the master (TIOCGPTPEER), without a path lookup. Both ends are close-on-exec and not controlling terminals.
pub(crate) fn open_in(root: BorrowedFd<'_>, size: Option<(u16, u16)>) -> io::Result<Pty> {
    let ptmx = open_in_root(root, Path::new("/dev/pts/ptmx"), OFlags::empty())?;
    let fs = rustix::fs::fstatfs(&ptmx)?;
    let st = rustix::fs::fstat(&ptmx)?;
    let dev = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
    if fs.f_type != libc::DEVPTS_SUPER_MAGIC
        || FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice
        || dev != PTMX
    {
        return Err(io::Error::other(
            "/dev/pts/ptmx is not the ptmx of a devpts filesystem",
        ));
    }
    let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    let master = rustix::fs::open(
        format!("/proc/self/fd/{}", ptmx.as_raw_fd()),
        flags,
        Mode::empty(),
    )?;
    rustix::pty::unlockpt(&master)?;
    let peer = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, peer)?;
    if let Some((rows, cols)) = size {
        apply_size(master.as_fd(), rows, cols)?;
    }
    Ok(Pty { master, slave })
}

fn apply_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    Ok(rustix::termios::tcsetwinsize(fd, size)?)
}

/// Sets the terminal's window size (rows and columns), as `docker resize` does.
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Error> {
    apply_size(fd, rows, cols).map_err(Error::Pty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn host_root() -> OwnedFd {
        rustix::fs::open(
            "/",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    }

    #[test]
    fn pty_from_a_devpts_carries_data_and_size() {
        let pty = open_in(host_root().as_fd(), Some((40, 120))).unwrap();
        assert!(rustix::termios::isatty(&pty.slave));
        let size = rustix::termios::tcgetwinsize(&pty.slave).unwrap();
        assert_eq!((size.ws_row, size.ws_col), (40, 120));
        set_window_size(pty.master.as_fd(), 50, 132).unwrap();
        let size = rustix::termios::tcgetwinsize(&pty.slave).unwrap();
        assert_eq!((size.ws_row, size.ws_col), (50, 132));
        // The slave is a /dev/pts/N of the same instance.
        let name = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
        assert!(name.starts_with("/dev/pts/"), "{name:?}");
        let mut slave = std::fs::File::from(pty.slave);
        slave.write_all(b"hi\n").unwrap();
        let mut master = std::fs::File::from(pty.master);
        let mut buf = [0u8; 8];
        let n = master.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"hi"));
    }

    #[test]
    fn something_else_at_the_ptmx_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev/pts")).unwrap();
        std::fs::write(dir.path().join("dev/pts/ptmx"), "").unwrap();
        let root = rustix::fs::open(dir.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        assert!(open_in(root.as_fd(), None).is_err());
        // A symlink cannot lead out of the root to the host's ptmx (".." stops at the root, where it finds itself).
        std::fs::remove_file(dir.path().join("dev/pts/ptmx")).unwrap();
        let up = "../".repeat(dir.path().components().count() + 2);
        std::os::unix::fs::symlink(format!("{up}dev/pts/ptmx"), dir.path().join("dev/pts/ptmx")).unwrap();
        assert!(open_in(root.as_fd(), None).is_err());
    }
}
