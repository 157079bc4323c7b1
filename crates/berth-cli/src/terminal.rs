//! The user's terminal: raw mode for interactive sessions (restored on drop) and its window size.

use std::os::fd::BorrowedFd;

use rustix::termios::{self, OptionalActions, Termios};

/// Puts a terminal in raw mode until dropped.
pub struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    /// Enters raw mode on stdin if it is a terminal.
    pub fn enter() -> Option<RawMode> {
        let fd = rustix::stdio::stdin();
        if !termios::isatty(fd) {
            return None;
        }
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, OptionalActions::Now, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

/// The size (rows, cols) of the terminal on stdout or stdin, if there is one.
pub fn size() -> Option<(u16, u16)> {
    for fd in [rustix::stdio::stdout(), rustix::stdio::stdin()] {
        if let Ok(ws) = termios::tcgetwinsize(fd)
            && ws.ws_row > 0
        {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}
