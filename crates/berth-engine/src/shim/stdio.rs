//! The supervising side of a process's stdio — the shim's for a container, the exec helper's for an exec: pipes, or
//! the master of a terminal that the runtime opens in the container's own devpts. [`Plumbing`] is what the
//! [`Pump`](super::pump::Pump) moves data through.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

use berth_runtime::{ProcessIo, Spawned, Stdio};

use crate::logs::Stream;

/// The supervisor's ends of a process's stdio.
pub struct Plumbing {
    /// Output sources: the stdout and stderr pipes, or the terminal master (everything is stdout then).
    pub outputs: Vec<(OwnedFd, Stream)>,
    /// Where input goes: the stdin pipe or the terminal master; `None` when the process was given no input.
    pub stdin: Option<OwnedFd>,
    /// The terminal master, for resizes.
    pub pty: Option<OwnedFd>,
}

/// Stdio set up before the spawn; [`Pending::complete`] finishes it once the process runs.
pub struct Pending {
    pipes: Option<Plumbing>,
    open_stdin: bool,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// The process's stdio: a terminal of `size` (rows, cols) when `tty`, else pipes, with a stdin pipe only when
/// `open_stdin` (otherwise /dev/null).
pub fn prepare(tty: bool, open_stdin: bool, size: Option<(u16, u16)>) -> io::Result<(ProcessIo, Pending)> {
    if tty {
        let pending = Pending {
            pipes: None,
            open_stdin,
        };
        return Ok((ProcessIo::Terminal { size }, pending));
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_child, stdin) = if open_stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        (File::open("/dev/null")?.into(), None)
    };
    let io = ProcessIo::Pipes(Stdio {
        stdin: stdin_child,
        stdout: out_w,
        stderr: err_w,
    });
    let pipes = Plumbing {
        outputs: vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)],
        stdin,
        pty: None,
    };
    Ok((
        io,
        Pending {
            pipes: Some(pipes),
            open_stdin,
        },
    ))
}

impl Pending {
    /// The plumbing of the process `spawned` with the [`ProcessIo`] of [`prepare`]; with a terminal, the master is
    /// taken from `spawned`, and output, input (when open) and resizes all go through it.
    pub fn complete(self, spawned: &mut Spawned) -> io::Result<Plumbing> {
        if let Some(pipes) = self.pipes {
            return Ok(pipes);
        }
        let master = spawned
            .console
            .take()
            .ok_or_else(|| io::Error::other("the runtime returned no terminal"))?;
        let stdin = self.open_stdin.then(|| master.try_clone()).transpose()?;
        Ok(Plumbing {
            outputs: vec![(master.try_clone()?, Stream::Stdout)],
            stdin,
            pty: Some(master),
        })
    }
}
