//! Pseudo-terminals for `-t`: a master/slave pair (the slave becomes the process's stdio and /dev/console) and
//! window-size changes.

use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::pty::OpenptFlags;

use crate::error::Error;

/// Opens a new pty pair `(master, slave)`, both close-on-exec; the slave is opened through the master
/// (TIOCGPTPEER), without a path lookup.
pub fn open_pty() -> Result<(OwnedFd, OwnedFd), Error> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = rustix::pty::openpt(flags).map_err(|e| Error::Pty(e.into()))?;
    rustix::pty::unlockpt(&master).map_err(|e| Error::Pty(e.into()))?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, flags).map_err(|e| Error::Pty(e.into()))?;
    Ok((master, slave))
}

/// Sets the terminal's window size (rows and columns), as `docker resize` does.
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Error> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, size).map_err(|e| Error::Pty(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn pty_pair_carries_data_and_size() {
        let (master, slave) = open_pty().unwrap();
        assert!(rustix::termios::isatty(&slave));
        set_window_size(master.as_fd(), 40, 120).unwrap();
        let size = rustix::termios::tcgetwinsize(&slave).unwrap();
        assert_eq!((size.ws_row, size.ws_col), (40, 120));
        std::fs::File::from(slave.try_clone().unwrap())
            .write_all(b"hi\n")
            .unwrap();
        let mut buf = [0u8; 8];
        let n = std::fs::File::from(master).read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"hi"));
    }
}
