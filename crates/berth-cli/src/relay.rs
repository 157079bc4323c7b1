//! The attached client side of `run`, `start -a` and `exec`: the hijacked API connection carries the container's
//! output (Docker's multiplexed frames, raw bytes with a tty) to our stdout/stderr, our stdin to the container (end
//! of input is a half-close), while terminal resizes and (without a tty) the signals this process receives are
//! passed on through API calls.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use berth_api::client::Hijacked;
use berth_engine::attach::{Decoder, Kind};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{PollFd, PollFlags, poll};

use crate::terminal;

/// What to relay.
pub struct RelayOpts {
    pub stdin: bool,
    pub tty: bool,
    /// Forward received signals to the container (Docker's `--sig-proxy`, non-tty only).
    pub sig_proxy: bool,
}

/// Signals the relay takes over while attached.
const PROXIED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

fn relayed_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in PROXIED {
        set.add(s);
    }
    set.add(Signal::SIGWINCH);
    set
}

/// Blocks the signals an attached session relays. Call before any thread starts (threads inherit the mask), or one
/// of them would take a SIGTERM meant for the container and die of it.
pub fn block_signals() -> std::io::Result<()> {
    Ok(relayed_signals().thread_block()?)
}

/// A descriptor to read the relayed signals from (blocking them, if [`block_signals`] was not called yet); create it
/// before the container starts so none is lost.
pub fn catch_signals() -> std::io::Result<SignalFd> {
    let set = relayed_signals();
    set.thread_block()?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )?)
}

/// Writes a container's output stream to our stdout/stderr: raw with a tty, else demultiplexed.
pub struct Demux {
    tty: bool,
    decoder: Decoder,
}

impl Demux {
    pub fn new(tty: bool) -> Demux {
        Demux {
            tty,
            decoder: Decoder::default(),
        }
    }

    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.tty {
            let mut out = std::io::stdout().lock();
            out.write_all(data)?;
            return out.flush();
        }
        self.decoder.push(data);
        while let Some((kind, payload)) = self.decoder.next_frame()? {
            if kind == Kind::Stderr {
                let mut err = std::io::stderr().lock();
                err.write_all(&payload)?;
                err.flush()?;
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(&payload)?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// Relays until the server ends the stream (the container or process ended, or a detach).
pub fn run(
    conn: Hijacked,
    signals: &SignalFd,
    opts: &RelayOpts,
    on_resize: &dyn Fn(u16, u16),
    on_signal: &dyn Fn(i32),
) -> std::io::Result<()> {
    let _raw = (opts.tty && opts.stdin).then(terminal::RawMode::enter).flatten();
    let mut demux = Demux::new(opts.tty);
    demux.write(&conn.buffered)?;
    let sock: OwnedFd = conn.fd;
    let mut stdin_open = opts.stdin;
    let mut buf = vec![0u8; 32 * 1024];
    let stdin = std::io::stdin();
    loop {
        let stdin_fd = stdin.as_fd();
        let mut fds = vec![
            PollFd::new(&sock, PollFlags::IN),
            PollFd::new(signals, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::new(&stdin_fd, PollFlags::IN));
        }
        if let Err(e) = poll(&mut fds, None) {
            if e == rustix::io::Errno::INTR {
                continue;
            }
            return Err(e.into());
        }
        let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
        drop(fds);
        if !ready[1].is_empty() {
            while let Ok(Some(info)) = signals.read_signal() {
                let signo = info.ssi_signo as i32;
                if signo == libc::SIGWINCH {
                    if let Some((rows, cols)) = terminal::size() {
                        on_resize(rows, cols);
                    }
                } else if opts.sig_proxy && !opts.tty {
                    on_signal(signo);
                }
            }
        }
        if stdin_open && !ready[2].is_empty() {
            let n = match stdin.lock().read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                stdin_open = false;
                let _ = rustix::net::shutdown(&sock, rustix::net::Shutdown::Write);
            } else {
                let mut written = 0;
                while written < n {
                    match rustix::io::write(&sock, &buf[written..n]) {
                        Ok(w) => written += w,
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(_) => {
                            stdin_open = false;
                            break;
                        }
                    }
                }
            }
        }
        if !ready[0].is_empty() {
            let n = match rustix::io::read(&sock, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => 0,
            };
            if n == 0 {
                return Ok(());
            }
            demux.write(&buf[..n])?;
        }
    }
}
