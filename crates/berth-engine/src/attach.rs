//! The wire protocol between a container's shim and the clients attached to it (a foreground `run`, `start -a`,
//! `wait`, `stop`, and later the daemon), over the shim's unix socket. Frames reuse Docker's multiplexed-stream
//! header — `[kind, 0, 0, 0, length as big-endian u32]` then the payload — so stdout/stderr frames can be relayed to
//! Docker API clients unchanged; a few kinds beyond Docker's carry control messages.
//!
//! An exec helper (`berth __exec`, see [`crate::exec_helper`]) speaks the same protocol with its one client, which
//! opens with [`Kind::Exec`] and its hello; the helper answers with a start report ([`Kind::Started`] or
//! [`Kind::StartFailed`]) and ends with [`Kind::Exit`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// Kinds of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Client -> shim: bytes for the container's stdin.
    Stdin = 0,
    /// Shim -> client: the container's stdout (everything, with a tty).
    Stdout = 1,
    /// Shim -> client: the container's stderr.
    Stderr = 2,
    /// Client -> shim: terminal size, payload `rows: u16, cols: u16` big-endian.
    Resize = 3,
    /// Client -> shim: the client's stdin reached end of file.
    CloseStdin = 4,
    /// Client -> shim: first frame, payload one byte of [`Hello`] flags.
    Hello = 5,
    /// Shim -> client: the container exited; payload `exit code: i32` big-endian, then `oom killed: u8`.
    Exit = 6,
    /// Client -> exec helper, its first frame (before its hello): what to run; payload the request as JSON.
    Exec = 7,
    /// Exec helper -> client, its first frame: the process runs; payload `pid: i32` big-endian.
    Started = 8,
    /// Exec helper -> client, its first and only frame: the process could not start; payload `exit code: i32`
    /// (125, or 126/127 for a command that cannot be invoked/found), `http status: u16` (both big-endian), then the
    /// message in UTF-8.
    StartFailed = 9,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Stdin,
            1 => Kind::Stdout,
            2 => Kind::Stderr,
            3 => Kind::Resize,
            4 => Kind::CloseStdin,
            5 => Kind::Hello,
            6 => Kind::Exit,
            7 => Kind::Exec,
            8 => Kind::Started,
            9 => Kind::StartFailed,
            _ => return None,
        })
    }
}

/// What an attaching client wants, sent in its [`Kind::Hello`] frame.
pub mod hello {
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
    pub const STDIN: u8 = 4;
}

/// Largest payload accepted; larger frames mean a confused peer.
pub const MAX_FRAME: usize = 1 << 20;

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let mut header = [0u8; 8];
    header[0] = kind as u8;
    header[4..].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    // One write where possible, so frames from one writer never interleave on the wire.
    let mut buf = Vec::with_capacity(8 + payload.len());
    buf.extend_from_slice(&header);
    buf.extend_from_slice(payload);
    w.write_all(&buf)
}

/// Incrementally decodes frames from bytes as they arrive.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Takes the next complete frame, if any.
    pub fn next_frame(&mut self) -> io::Result<Option<(Kind, Vec<u8>)>> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let kind = Kind::from_u8(self.buf[0])
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown attach frame"))?;
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "attach frame too large",
            ));
        }
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let payload = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Ok(Some((kind, payload)))
    }
}

/// Reads one whole frame from a blocking reader; `None` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(Kind, Vec<u8>)>> {
    let mut header = [0u8; 8];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut d = Decoder::default();
    d.push(&header);
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "attach frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    d.push(&payload);
    d.next_frame()
}

/// Encodes an exit frame's payload.
pub fn exit_payload(code: i32, oom_killed: bool) -> [u8; 5] {
    let c = code.to_be_bytes();
    [c[0], c[1], c[2], c[3], oom_killed as u8]
}

/// Decodes an exit frame's payload into (exit code, oom killed).
pub fn parse_exit(payload: &[u8]) -> Option<(i32, bool)> {
    let code = i32::from_be_bytes(payload.get(..4)?.try_into().ok()?);
    Some((code, payload.get(4).copied().unwrap_or(0) != 0))
}

/// Encodes a start report's payload: the pid of the process.
pub fn started_payload(pid: i32) -> [u8; 4] {
    pid.to_be_bytes()
}

/// Decodes a start report's payload into the pid.
pub fn parse_started(payload: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

/// Encodes a start failure's payload: Docker's exit code, the HTTP status and the message.
pub fn start_failed_payload(code: i32, status: u16, message: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(6 + message.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&status.to_be_bytes());
    payload.extend_from_slice(message.as_bytes());
    payload
}

/// Decodes a start failure's payload into (exit code, HTTP status, message).
pub fn parse_start_failed(payload: &[u8]) -> Option<(i32, u16, String)> {
    let code = i32::from_be_bytes(payload.get(..4)?.try_into().ok()?);
    let status = u16::from_be_bytes(payload.get(4..6)?.try_into().ok()?);
    Some((code, status, String::from_utf8_lossy(&payload[6..]).into_owned()))
}

/// Encodes a resize frame's payload.
pub fn resize_payload(rows: u16, cols: u16) -> [u8; 4] {
    let (r, c) = (rows.to_be_bytes(), cols.to_be_bytes());
    [r[0], r[1], c[0], c[1]]
}

/// Decodes a resize payload into (rows, cols).
pub fn parse_resize(payload: &[u8]) -> Option<(u16, u16)> {
    Some((
        u16::from_be_bytes(payload.get(..2)?.try_into().ok()?),
        u16::from_be_bytes(payload.get(2..4)?.try_into().ok()?),
    ))
}

/// Unix socket paths are limited to 108 bytes, and a data root can be deep; so sockets are reached through a short
/// `/proc/self/fd/N/<name>` path, N being an open descriptor of their directory.
fn short_path(socket: &Path) -> io::Result<(File, String)> {
    let dir = File::open(socket.parent().unwrap_or(Path::new("/")))?;
    let name = socket
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = format!("/proc/self/fd/{}/{name}", dir.as_raw_fd());
    Ok((dir, path))
}

/// Binds a listening socket at `socket`, whatever the length of its path.
pub fn listen(socket: &Path) -> io::Result<UnixListener> {
    let (_dir, path) = short_path(socket)?;
    UnixListener::bind(path)
}

/// Connects to the socket at `socket`, whatever the length of its path.
pub fn connect(socket: &Path) -> io::Result<UnixStream> {
    let (_dir, path) = short_path(socket)?;
    UnixStream::connect(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = Vec::new();
        write_frame(&mut wire, Kind::Stdout, b"hello").unwrap();
        write_frame(&mut wire, Kind::Exit, &exit_payload(-3, true)).unwrap();
        assert_eq!(&wire[..8], &[1, 0, 0, 0, 0, 0, 0, 5]);
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got[0], (Kind::Stdout, b"hello".to_vec()));
        assert_eq!(parse_exit(&got[1].1), Some((-3, true)));
    }

    #[test]
    fn junk_is_rejected() {
        let mut d = Decoder::default();
        d.push(&[0x7f, 0, 0, 0, 0, 0, 0, 0]);
        assert!(d.next_frame().is_err());
        let mut d = Decoder::default();
        d.push(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_frame().is_err());
        assert!(read_frame(&mut &[1u8, 0, 0][..]).unwrap().is_none());
    }

    #[test]
    fn sockets_work_beyond_the_path_limit() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("d".repeat(100)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let sock = deep.join("attach.sock");
        let listener = listen(&sock).unwrap();
        let mut client = connect(&sock).unwrap();
        write_frame(&mut client, Kind::Hello, &[1]).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(read_frame(&mut server).unwrap(), Some((Kind::Hello, vec![1])));
    }

    #[test]
    fn start_reports_round_trip() {
        let mut wire = Vec::new();
        write_frame(&mut wire, Kind::Started, &started_payload(42)).unwrap();
        let failed = start_failed_payload(127, 500, "exec: \"nope\": not found");
        write_frame(&mut wire, Kind::StartFailed, &failed).unwrap();
        let mut r = &wire[..];
        let (kind, payload) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!((kind, parse_started(&payload)), (Kind::Started, Some(42)));
        let (kind, payload) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(kind, Kind::StartFailed);
        assert_eq!(
            parse_start_failed(&payload),
            Some((127, 500, "exec: \"nope\": not found".to_string()))
        );
        assert_eq!(parse_start_failed(&[0, 0, 0, 1, 2]), None);
    }

    #[test]
    fn resize_round_trip() {
        assert_eq!(parse_resize(&resize_payload(40, 120)), Some((40, 120)));
        assert_eq!(parse_resize(&[1]), None);
    }
}
