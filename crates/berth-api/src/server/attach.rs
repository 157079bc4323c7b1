//! `POST /containers/{id}/attach`: the connection is upgraded (101) and becomes a raw byte stream between the
//! client and the container's shim — output frames are passed on as Docker's multiplexed frames (raw bytes with a
//! tty), client bytes become stdin, the client's half-close closes stdin, and Docker's detach keys end the session.
//! The same relay serves exec sessions.

use std::os::unix::net::UnixStream;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use berth_engine::attach::{self, Kind, hello};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::params::Params;
use super::{Shared, blocking};
use crate::error::{Error, Result};

/// Docker's default detach sequence, ctrl-p ctrl-q.
const DEFAULT_DETACH: [u8; 2] = [16, 17];

/// Parses Docker's `detachKeys` ("ctrl-p,ctrl-q", "a,ctrl-z").
pub(crate) fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    if spec.is_empty() {
        return Ok(DEFAULT_DETACH.to_vec());
    }
    spec.split(',')
        .map(|key| {
            let bad = || Error::bad_request(format!("Invalid detach keys ({spec}) provided"));
            match key.strip_prefix("ctrl-") {
                Some(k) if k.len() == 1 => {
                    let b = k.as_bytes()[0].to_ascii_lowercase();
                    match b {
                        b'a'..=b'z' => Ok(b - b'a' + 1),
                        b'@' => Ok(0),
                        b'[' => Ok(27),
                        b'\\' => Ok(28),
                        b']' => Ok(29),
                        b'^' => Ok(30),
                        b'_' => Ok(31),
                        _ => Err(bad()),
                    }
                }
                None if key.len() == 1 => Ok(key.as_bytes()[0]),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// Watches client input for the detach sequence, holding back bytes that may be its start.
struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    /// Feeds input; returns the bytes to pass on and whether the sequence completed.
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

/// How a relay should treat the client.
pub(crate) struct RelayOpts {
    pub tty: bool,
    pub stdin: bool,
    /// The detach sequence (only honoured with stdin).
    pub detach_keys: Vec<u8>,
}

/// The 101 answer to an upgrade request.
pub(crate) fn upgrade_response() -> Result<Response> {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .header(header::CONTENT_TYPE, "application/vnd.docker.raw-stream")
        .body(Body::empty())
        .map_err(|e| Error::internal(e.to_string()))
}

/// Whether the client asked for a connection upgrade (every Docker client does for attach and exec start).
pub(crate) fn wants_upgrade(req: &Request) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// Relays between the hijacked client connection `client` and `shim` until the exit frame (whose code goes to
/// `on_exit` before the client sees the end of the stream), the shim's end, a detach, or the client's disconnect.
pub(crate) async fn relay<C>(client: C, shim: UnixStream, opts: RelayOpts, on_exit: impl FnOnce(i32) + Send)
where
    C: AsyncRead + AsyncWrite + Send + Unpin,
{
    let Ok(shim) = shim
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(shim))
    else {
        return;
    };
    let (mut shim_r, mut shim_w) = shim.into_split();
    let (mut cli_r, mut cli_w) = tokio::io::split(client);
    let stdin = opts.stdin;
    let mut matcher = DetachMatcher {
        keys: if opts.tty { opts.detach_keys } else { Vec::new() },
        matched: 0,
    };
    // Client -> container. Ends at the client's half-close (stdin closed, output goes on) or at a detach. It borrows
    // the shim's write half: dropping that half would shut the socket's write side, which the shim takes for the
    // client leaving.
    let upstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = cli_r.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                if stdin {
                    let _ = shim_w.write_all(&frame(Kind::CloseStdin, &[])).await;
                }
                return false;
            }
            if !stdin {
                continue;
            }
            let (data, detached) = matcher.feed(&buf[..n]);
            if !data.is_empty() && shim_w.write_all(&frame(Kind::Stdin, &data)).await.is_err() {
                return false;
            }
            if detached {
                return true;
            }
        }
    };
    // Container -> client.
    let downstream = async {
        let mut decoder = attach::Decoder::default();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = shim_r.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            decoder.push(&buf[..n]);
            while let Ok(Some((kind, payload))) = decoder.next_frame() {
                let out = match kind {
                    Kind::Stdout | Kind::Stderr if opts.tty => payload,
                    Kind::Stdout | Kind::Stderr => frame(kind, &payload),
                    Kind::Exit => return attach::parse_exit(&payload).map(|(code, _)| code),
                    _ => continue,
                };
                if cli_w.write_all(&out).await.is_err() {
                    return None;
                }
            }
        }
    };
    let exit = {
        tokio::pin!(upstream);
        tokio::pin!(downstream);
        let mut upstream_done = false;
        loop {
            tokio::select! {
                detached = &mut upstream, if !upstream_done => {
                    if detached {
                        break None;
                    }
                    upstream_done = true;
                }
                exit = &mut downstream => break exit,
            }
        }
    };
    if let Some(code) = exit {
        on_exit(code);
    }
    let _ = cli_w.shutdown().await;
}

/// One encoded frame.
pub(crate) fn frame(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    let _ = attach::write_frame(&mut out, kind, payload);
    out
}

/// The container's log so far as the attach stream carries output (frames, or raw bytes with a tty): what
/// `logs=1` replays before the live stream.
fn replay(d: &super::Daemon, id: &str, tty: bool, flags: u8) -> Result<Vec<u8>> {
    let filter = berth_engine::logs::LogFilter {
        stdout: flags & hello::STDOUT != 0,
        stderr: flags & hello::STDERR != 0,
        since: None,
        until: None,
        tail: None,
    };
    let mut out = Vec::new();
    d.engine.logs(id, &filter, false, &|| true, &mut |e| {
        let kind = if e.stream == "stderr" {
            Kind::Stderr
        } else {
            Kind::Stdout
        };
        if tty {
            out.extend_from_slice(e.log.as_bytes());
            Ok(())
        } else {
            attach::write_frame(&mut out, kind, e.log.as_bytes())
        }
    })?;
    Ok(out)
}

/// `POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1&logs=1&detachKeys=`. `logs=1` replays the
/// output so far first; with it and without `stream=1`, that replay is all.
pub async fn attach(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    mut req: Request,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    if !wants_upgrade(&req) {
        return Err(Error::bad_request(
            "attach needs an upgraded connection (Upgrade: tcp)",
        ));
    }
    let detach_keys = parse_detach_keys(p.get("detachKeys").unwrap_or(""))?;
    let mut flags = 0;
    for (key, bit) in [
        ("stdout", hello::STDOUT),
        ("stderr", hello::STDERR),
        ("stdin", hello::STDIN),
    ] {
        if p.flag(key) {
            flags |= bit;
        }
    }
    let logs = p.flag("logs");
    let stream = p.flag("stream") || !logs;
    let (tty, stdin, shim, history) = blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        let history = if logs {
            replay(d, &c.id, c.config.tty, flags)?
        } else {
            Vec::new()
        };
        if !stream {
            return Ok((c.config.tty, false, None, history));
        }
        if c.state.paused {
            return Err(Error::conflict(
                "You cannot attach to a paused container, unpause it first",
            ));
        }
        let stdin = flags & hello::STDIN != 0 && c.config.open_stdin;
        let flags = if stdin { flags } else { flags & !hello::STDIN };
        let slot = d.slot(&c.id);
        let mut pending = slot.pending.lock().unwrap_or_else(|p| p.into_inner());
        // Under the slot's lock a start cannot slip in between this check and the queueing below.
        let c = d.engine.inspect(&c.id)?;
        let mut client = if c.state.running {
            attach::connect(&d.engine.paths().attach_socket(&c.id))
                .map_err(|e| Error::internal(format!("attach to container: {e}")))?
        } else {
            let (client, shim_end) =
                UnixStream::pair().map_err(|e| Error::internal(format!("socketpair: {e}")))?;
            pending.push(shim_end.into());
            client
        };
        attach::write_frame(&mut client, Kind::Hello, &[flags])
            .map_err(|e| Error::internal(format!("attach to container: {e}")))?;
        d.container_event(&c, "attach", &[]);
        Ok((c.config.tty, stdin, Some(client), history))
    })
    .await?;
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = upgrade.await {
            let mut io = TokioIo::new(upgraded);
            if io.write_all(&history).await.is_err() {
                return;
            }
            let Some(shim) = shim else {
                let _ = io.shutdown().await;
                return;
            };
            let opts = RelayOpts {
                tty,
                stdin,
                detach_keys,
            };
            relay(io, shim, opts, |_| {}).await;
        }
    });
    upgrade_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse() {
        assert_eq!(parse_detach_keys("").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert_eq!(parse_detach_keys("ctrl-[").unwrap(), vec![27]);
        assert!(parse_detach_keys("ctrl-aa").is_err());
        assert!(parse_detach_keys("alt-x").is_err());
    }

    #[test]
    fn detach_sequence_is_held_back_and_released() {
        let mut m = DetachMatcher {
            keys: vec![16, 17],
            matched: 0,
        };
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(m.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(m.feed(b"\x11zz"), (Vec::new(), true));
    }

    #[tokio::test]
    async fn relay_frames_output_and_passes_stdin() {
        let (daemon_side, mut shim) = UnixStream::pair().unwrap();
        let (client, mut user) = tokio::io::duplex(1024);
        let shim_thread = std::thread::spawn(move || {
            use std::io::Write as _;
            attach::write_frame(&mut shim, Kind::Stdout, b"out").unwrap();
            attach::write_frame(&mut shim, Kind::Stderr, b"err").unwrap();
            // Stdin arrives as a frame, then the half-close as CloseStdin.
            let got = attach::read_frame(&mut shim).unwrap().unwrap();
            assert_eq!(got, (Kind::Stdin, b"in".to_vec()));
            let got = attach::read_frame(&mut shim).unwrap().unwrap();
            assert_eq!(got.0, Kind::CloseStdin);
            attach::write_frame(&mut shim, Kind::Exit, &attach::exit_payload(7, false)).unwrap();
            shim.flush().unwrap();
        });
        let opts = RelayOpts {
            tty: false,
            stdin: true,
            detach_keys: DEFAULT_DETACH.to_vec(),
        };
        let code = std::sync::Arc::new(std::sync::Mutex::new(None));
        let c2 = code.clone();
        let relay_task = tokio::spawn(async move {
            relay(client, daemon_side, opts, move |c| *c2.lock().unwrap() = Some(c)).await
        });
        user.write_all(b"in").await.unwrap();
        user.shutdown().await.unwrap();
        let mut out = Vec::new();
        user.read_to_end(&mut out).await.unwrap();
        relay_task.await.unwrap();
        shim_thread.join().unwrap();
        assert_eq!(
            out,
            [
                &[1u8, 0, 0, 0, 0, 0, 0, 3][..],
                b"out",
                &[2, 0, 0, 0, 0, 0, 0, 3],
                b"err"
            ]
            .concat()
        );
        assert_eq!(*code.lock().unwrap(), Some(7));
    }
}
