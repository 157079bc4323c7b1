//! The I/O loop of a supervising process (the shim for a container, the exec helper for an exec): moves the
//! process's output to the json-file log (if any) and to attached clients, client input to the process's stdin,
//! client resizes to the pty, and notices the process's exit through its pidfd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};

use super::stdio::Plumbing;
use super::trim::{self, Schedule};
use crate::attach::{self, Decoder, Kind, hello};
use crate::logs::{LogWriter, Stream};

/// How long output may keep draining after the container's init has exited (its namespace is gone by then, so this
/// only bounds the wait for a pipe someone outside still holds).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How often the drain after the exit looks at the clock.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Most bytes taken from one source in one read.
const READ_SIZE: usize = 32 * 1024;

struct Client {
    stream: UnixStream,
    decoder: Decoder,
    flags: Option<u8>,
}

/// The supervisor's side of a process's plumbing and its clients.
pub struct Pump {
    /// Output sources: the pty master, or the stdout and stderr pipes; `None` once at end of file.
    outputs: Vec<(Option<OwnedFd>, Stream)>,
    stdin: Option<OwnedFd>,
    pending_stdin: Vec<u8>,
    close_stdin: bool,
    /// Whether stdin closes once no client is left (Docker's StdinOnce).
    stdin_once: bool,
    /// The pty master, for resizes.
    pty: Option<OwnedFd>,
    /// Where more clients connect; `None` when the first client is the only one.
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    log: Option<LogWriter>,
    /// Room for one read, allocated at the first and then reused; kept off the stack (where it would be touched in
    /// full on every call) so that only the bytes reads fill are ever touched.
    buf: Vec<u8>,
    /// When to give back the memory the work so far touched.
    release: Schedule,
    /// The container's embedded DNS server (user networks), served while it runs.
    dns: Option<super::dns::Dns>,
}

fn set_nonblocking(fd: &OwnedFd) {
    if let Ok(flags) = rustix::fs::fcntl_getfl(fd) {
        let _ = rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK);
    }
}

impl Pump {
    /// Sets up the loop over the supervisor's ends of the process's stdio. `first_clients` have already written
    /// their hellos; more clients connect through `listener`, if any.
    pub fn new(
        plumbing: Plumbing,
        listener: Option<UnixListener>,
        first_clients: Vec<OwnedFd>,
        log: Option<LogWriter>,
    ) -> Self {
        for (fd, _) in &plumbing.outputs {
            set_nonblocking(fd);
        }
        if let Some(fd) = &plumbing.stdin {
            set_nonblocking(fd);
        }
        if let Some(listener) = &listener {
            let _ = listener.set_nonblocking(true);
        }
        let mut pump = Pump {
            outputs: plumbing
                .outputs
                .into_iter()
                .map(|(fd, s)| (Some(fd), s))
                .collect(),
            stdin: plumbing.stdin,
            pending_stdin: Vec::new(),
            close_stdin: false,
            stdin_once: false,
            pty: plumbing.pty,
            listener,
            clients: Vec::new(),
            log,
            buf: Vec::new(),
            release: Schedule::new(Instant::now()),
            dns: None,
        };
        for fd in first_clients {
            // The starter wrote each hello before the container started: take them now, so the container's very
            // first output already reaches these clients.
            let mut stream = UnixStream::from(fd);
            let flags = match attach::read_frame(&mut stream) {
                Ok(Some((Kind::Hello, payload))) => payload.first().copied(),
                _ => None,
            };
            pump.add_client(stream, flags);
        }
        pump
    }

    /// Serves `server` (the container's embedded DNS) from the loop while the container runs.
    pub fn serve_dns(&mut self, server: super::dns::Dns) {
        self.dns = Some(server);
    }

    /// Makes the process's stdin close once no client is left (Docker's StdinOnce), so a process reading its input
    /// ends when nobody can send it more.
    pub fn set_stdin_once(&mut self) {
        self.stdin_once = true;
    }

    /// Adds a client; `flags` are its hello's, when already read.
    fn add_client(&mut self, stream: UnixStream, flags: Option<u8>) {
        let _ = stream.set_nonblocking(true);
        self.clients.push(Client {
            stream,
            decoder: Decoder::default(),
            flags,
        });
    }

    /// Runs until the process behind `pidfd` has exited and its output is drained.
    pub fn run(&mut self, pidfd: BorrowedFd<'_>) {
        let mut exited_at: Option<Instant> = None;
        loop {
            let outputs_open = self.outputs.iter().any(|(fd, _)| fd.is_some());
            if let Some(t) = exited_at
                && (!outputs_open || t.elapsed() > DRAIN_LIMIT)
            {
                return;
            }
            let mut fds: Vec<PollFd<'_>> = Vec::new();
            let mut listener_slot = None;
            if let Some(listener) = &self.listener {
                listener_slot = Some(fds.len());
                fds.push(PollFd::new(listener, PollFlags::IN));
            }
            let mut pidfd_slot = None;
            if exited_at.is_none() {
                pidfd_slot = Some(fds.len());
                fds.push(PollFd::new(&pidfd, PollFlags::IN));
            }
            // (index into self.outputs, slot in fds) of the outputs still open.
            let mut polled_outputs = Vec::new();
            for (i, (fd, _)) in self.outputs.iter().enumerate() {
                if let Some(fd) = fd {
                    polled_outputs.push((i, fds.len()));
                    fds.push(PollFd::new(fd, PollFlags::IN));
                }
            }
            let stdin_slot = match (&self.stdin, self.pending_stdin.is_empty()) {
                (Some(fd), false) => {
                    fds.push(PollFd::new(fd, PollFlags::OUT));
                    Some(fds.len() - 1)
                }
                _ => None,
            };
            let dns_slot = match (&self.dns, exited_at) {
                (Some(dns), None) => {
                    let slot = fds.len();
                    fds.extend(dns.fds().map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)));
                    Some(slot)
                }
                _ => None,
            };
            let client_base = fds.len();
            let polled_clients = self.clients.len();
            for c in &self.clients {
                fds.push(PollFd::new(&c.stream, PollFlags::IN));
            }
            let mut timeout = exited_at.map(|_| DRAIN_POLL);
            if let Some(at) = self.release.due().filter(|_| exited_at.is_none()) {
                let now = Instant::now();
                if now >= at {
                    // About to wait: what the pump needs next faults back in as it runs.
                    trim::release_idle_memory();
                    self.release.released(now);
                } else {
                    timeout = Some(at - now);
                }
            }
            if let Some(dns_due) = self.dns.as_ref().and_then(|d| d.next_timeout()) {
                timeout = Some(timeout.map_or(dns_due, |t| t.min(dns_due)));
            }
            let timeout = timeout.and_then(|t| rustix::event::Timespec::try_from(t).ok());
            if let Err(e) = poll(&mut fds, timeout.as_ref())
                && e != rustix::io::Errno::INTR
            {
                return;
            }
            let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
            drop(fds);
            if ready.iter().any(|r| !r.is_empty()) {
                self.release.active(Instant::now());
            }
            if listener_slot.is_some_and(|s| !ready[s].is_empty()) {
                self.accept();
            }
            if pidfd_slot.is_some_and(|s| !ready[s].is_empty()) {
                exited_at = Some(Instant::now());
            }
            for (i, slot) in polled_outputs {
                if !ready[slot].is_empty() {
                    self.read_output(i);
                }
            }
            if stdin_slot.is_some_and(|s| !ready[s].is_empty()) {
                self.flush_stdin();
            }
            // Also on a timeout, so forwarded queries that got no answer expire.
            if let (Some(_), Some(dns)) = (dns_slot, &mut self.dns) {
                dns.on_readable();
            }
            let mut gone = Vec::new();
            // Only the clients that were polled; ones accepted just now are polled next round.
            for i in 0..polled_clients {
                if !ready[client_base + i].is_empty() && !self.read_client(i) {
                    gone.push(i);
                }
            }
            for i in gone.into_iter().rev() {
                self.clients.remove(i);
            }
            self.check_stdin_once();
        }
    }

    fn accept(&mut self) {
        while let Some(Ok((stream, _))) = self.listener.as_ref().map(UnixListener::accept) {
            self.add_client(stream, None);
        }
    }

    /// Closes stdin when it is to close with the last client and none is left.
    fn check_stdin_once(&mut self) {
        if self.stdin_once && self.clients.is_empty() && !self.close_stdin {
            self.close_stdin = true;
            self.flush_stdin();
        }
    }

    /// The read buffer, emptied, taken out of `self` so it can be filled while `self` is borrowed again.
    fn take_buf(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.reserve_exact(READ_SIZE);
        buf
    }

    fn read_output(&mut self, i: usize) {
        let stream = self.outputs[i].1;
        let mut buf = self.take_buf();
        while let Some(fd) = &self.outputs[i].0 {
            buf.clear();
            match rustix::io::read(fd, rustix::buffer::spare_capacity(&mut buf)) {
                Ok(0) => self.outputs[i].0 = None,
                Ok(_) => self.emit(stream, &buf),
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => continue,
                // EIO: every pty slave is closed.
                Err(_) => self.outputs[i].0 = None,
            }
        }
        self.buf = buf;
    }

    fn emit(&mut self, stream: Stream, data: &[u8]) {
        if let Some(log) = &mut self.log {
            let _ = log.write(stream, data);
        }
        let (kind, flag) = match stream {
            Stream::Stdout => (Kind::Stdout, hello::STDOUT),
            Stream::Stderr => (Kind::Stderr, hello::STDERR),
        };
        self.clients.retain_mut(|c| match c.flags {
            Some(f) if f & flag != 0 => send_blocking(&mut c.stream, kind, data),
            _ => true,
        });
        self.check_stdin_once();
    }

    /// Handles input from client `i`; false when the client is gone.
    fn read_client(&mut self, i: usize) -> bool {
        let mut buf = self.take_buf();
        let alive = loop {
            match rustix::io::read(&self.clients[i].stream, rustix::buffer::spare_capacity(&mut buf)) {
                Ok(0) => break false,
                Ok(_) => break self.decode_client(i, &buf),
                Err(rustix::io::Errno::AGAIN) => break true,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break false,
            }
        };
        self.buf = buf;
        alive
    }

    /// Feeds `data` from client `i` to its decoder and handles the frames completed; false on a protocol error.
    fn decode_client(&mut self, i: usize, data: &[u8]) -> bool {
        self.clients[i].decoder.push(data);
        loop {
            match self.clients[i].decoder.next_frame() {
                Ok(Some((kind, payload))) => self.handle_frame(i, kind, payload),
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    fn handle_frame(&mut self, i: usize, kind: Kind, payload: Vec<u8>) {
        let flags = self.clients[i].flags;
        match kind {
            Kind::Hello => self.clients[i].flags = payload.first().copied(),
            Kind::Stdin if flags.is_some_and(|f| f & hello::STDIN != 0) => {
                self.pending_stdin.extend_from_slice(&payload);
                self.flush_stdin();
            }
            Kind::CloseStdin if flags.is_some_and(|f| f & hello::STDIN != 0) => {
                self.close_stdin = true;
                self.flush_stdin();
            }
            Kind::Resize => {
                if let (Some(pty), Some((rows, cols))) = (&self.pty, attach::parse_resize(&payload)) {
                    let _ = berth_runtime::pty::set_window_size(pty.as_fd(), rows, cols);
                }
            }
            _ => {}
        }
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = &self.stdin else {
            self.pending_stdin.clear();
            return;
        };
        while !self.pending_stdin.is_empty() {
            match rustix::io::write(fd, &self.pending_stdin) {
                Ok(n) => {
                    self.pending_stdin.drain(..n);
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return,
                Err(_) => {
                    self.pending_stdin.clear();
                    self.stdin = None;
                    return;
                }
            }
        }
        // Closing a pty master would hang up the terminal; with a tty, end of input is the user's ^D.
        if self.close_stdin && self.pty.is_none() {
            self.stdin = None;
        }
    }

    /// Flushes partial log lines and tells every client the exit status.
    pub fn finish(&mut self, code: i32, oom_killed: bool) {
        if let Some(log) = &mut self.log {
            let _ = log.flush();
        }
        let payload = attach::exit_payload(code, oom_killed);
        for c in &mut self.clients {
            send_blocking(&mut c.stream, Kind::Exit, &payload);
        }
    }
}

/// Sends a frame on a non-blocking client socket, waiting (bounded) for room; false if the client is gone or stuck.
fn send_blocking(stream: &mut UnixStream, kind: Kind, data: &[u8]) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let ok = attach::write_frame(stream, kind, data).is_ok();
    let _ = stream.set_nonblocking(true);
    ok
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command, Stdio};

    use super::*;

    /// `cat` with its stdin and stdout on pipes held by a pump that has `client` as its only client (no listener).
    fn pump_over_cat(client: UnixStream) -> (Child, OwnedFd, Pump) {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap();
        let plumbing = Plumbing {
            outputs: vec![(OwnedFd::from(child.stdout.take().unwrap()), Stream::Stdout)],
            stdin: Some(OwnedFd::from(child.stdin.take().unwrap())),
            pty: None,
        };
        (child, pidfd, Pump::new(plumbing, None, vec![client.into()], None))
    }

    #[test]
    fn only_client_feeds_stdin_half_closes_and_sees_the_exit() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        attach::write_frame(&mut ours, Kind::Hello, &[hello::STDOUT | hello::STDIN]).unwrap();
        let (mut child, pidfd, mut pump) = pump_over_cat(theirs);
        attach::write_frame(&mut ours, Kind::Stdin, b"hi\n").unwrap();
        attach::write_frame(&mut ours, Kind::CloseStdin, &[]).unwrap();
        pump.run(pidfd.as_fd());
        pump.finish(7, false);
        drop(pump);
        assert!(child.wait().unwrap().success());
        let mut frames = Vec::new();
        while let Some(f) = attach::read_frame(&mut ours).unwrap() {
            frames.push(f);
        }
        assert_eq!(
            frames,
            vec![
                (Kind::Stdout, b"hi\n".to_vec()),
                (Kind::Exit, attach::exit_payload(7, false).to_vec())
            ]
        );
    }

    #[test]
    fn stdin_once_closes_stdin_when_the_client_leaves() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        attach::write_frame(&mut ours, Kind::Hello, &[hello::STDOUT | hello::STDIN]).unwrap();
        let (mut child, pidfd, mut pump) = pump_over_cat(theirs);
        pump.set_stdin_once();
        drop(ours);
        // Without the close, cat would read forever: a watchdog kills it (through its pidfd, so never another
        // process), and the exit status tells.
        let watched = pidfd.try_clone().unwrap();
        let watchdog = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(10));
            let _ = rustix::process::pidfd_send_signal(&watched, rustix::process::Signal::KILL);
        });
        pump.run(pidfd.as_fd());
        assert!(child.wait().unwrap().success(), "cat did not see end of file");
        drop(watchdog);
    }
}
