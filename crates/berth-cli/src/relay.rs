//! The attached client side of `run` and `start -a`: relays the container's output frames to stdout/stderr, the
//! user's stdin to the container, terminal resizes, and (without a tty) the signals this process receives, until the
//! shim reports the exit code.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use berth_engine::attach::{self, Decoder, Kind};
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

/// Blocks the proxied signals (and SIGWINCH) and returns a descriptor to read them from; call before the container
/// starts so none is lost.
pub fn catch_signals() -> std::io::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in PROXIED {
        set.add(s);
    }
    set.add(Signal::SIGWINCH);
    set.thread_block()?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )?)
}

/// The client's hello frame for these options.
pub fn hello(sock: &mut UnixStream, opts: &RelayOpts) -> std::io::Result<()> {
    let mut flags = attach::hello::STDOUT | attach::hello::STDERR;
    if opts.stdin {
        flags |= attach::hello::STDIN;
    }
    attach::write_frame(sock, Kind::Hello, &[flags])
}

/// Relays until the exit frame; returns the exit code, or `None` if the shim went away without one.
pub fn run(
    mut sock: UnixStream,
    signals: &SignalFd,
    opts: &RelayOpts,
    on_signal: &dyn Fn(i32),
) -> std::io::Result<Option<i32>> {
    let _raw = (opts.tty && opts.stdin).then(terminal::RawMode::enter).flatten();
    let mut decoder = Decoder::default();
    let mut stdin_open = opts.stdin;
    let mut buf = vec![0u8; 32 * 1024];
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
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
                        attach::write_frame(&mut sock, Kind::Resize, &attach::resize_payload(rows, cols))?;
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
                attach::write_frame(&mut sock, Kind::CloseStdin, &[])?;
            } else {
                attach::write_frame(&mut sock, Kind::Stdin, &buf[..n])?;
            }
        }
        if !ready[0].is_empty() {
            let n = match sock.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                return Ok(None);
            }
            decoder.push(&buf[..n]);
            while let Some((kind, payload)) = decoder.next_frame()? {
                match kind {
                    Kind::Stdout => {
                        let mut out = stdout.lock();
                        out.write_all(&payload)?;
                        out.flush()?;
                    }
                    Kind::Stderr => {
                        let mut err = stderr.lock();
                        err.write_all(&payload)?;
                        err.flush()?;
                    }
                    Kind::Exit => return Ok(attach::parse_exit(&payload).map(|(code, _)| code)),
                    _ => {}
                }
            }
        }
    }
}
