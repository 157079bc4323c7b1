//! The child-to-parent error pipe: the child writes one message when a setup step fails; end of file without a
//! message means the final execve succeeded (the pipe is close-on-exec).

use std::io::{self, Read};
use std::os::fd::OwnedFd;

use crate::error::SpawnError;

const NOT_FOUND: u8 = 1;
const PERMISSION_DENIED: u8 = 2;
const OTHER: u8 = 3;
/// Messages stay under PIPE_BUF so that one write is atomic.
const MAX_MESSAGE: usize = 4000;

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), SpawnError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| SpawnError::Sys {
        what: "create pipe".into(),
        source: e.into(),
    })
}

/// Child side: sends the error (best effort; the exit code tells the rest).
pub(crate) fn send(fd: &OwnedFd, err: &SpawnError) {
    let (tag, text) = match err {
        SpawnError::NotFound(cmd) => (NOT_FOUND, cmd.clone()),
        SpawnError::PermissionDenied(cmd) => (PERMISSION_DENIED, cmd.clone()),
        other => (OTHER, other.to_string()),
    };
    let mut msg = Vec::with_capacity(1 + text.len().min(MAX_MESSAGE));
    msg.push(tag);
    let mut end = text.len().min(MAX_MESSAGE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    msg.extend_from_slice(&text.as_bytes()[..end]);
    let _ = rustix::io::write(fd, &msg);
}

/// Parent side: waits for end of file; `Some` error when the child reported one.
pub(crate) fn receive(fd: OwnedFd) -> Result<Option<SpawnError>, SpawnError> {
    let mut buf = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut buf)
        .map_err(|source: io::Error| SpawnError::Sys {
            what: "read child status".into(),
            source,
        })?;
    let Some((&tag, text)) = buf.split_first() else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(text).into_owned();
    Ok(Some(match tag {
        NOT_FOUND => SpawnError::NotFound(text),
        PERMISSION_DENIED => SpawnError::PermissionDenied(text),
        _ => SpawnError::Container(text),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_the_pipe() {
        for err in [
            SpawnError::NotFound("foo".into()),
            SpawnError::PermissionDenied("/bin/x".into()),
            SpawnError::Container("mount proc: denied".into()),
        ] {
            let (r, w) = pipe().unwrap();
            send(&w, &err);
            drop(w);
            let got = receive(r).unwrap().unwrap();
            assert_eq!(got.to_string(), err.to_string());
            assert_eq!(got.exit_code(), err.exit_code());
        }
        let (r, w) = pipe().unwrap();
        drop(w);
        assert!(receive(r).unwrap().is_none());
    }
}
