//! Exit monitors: one wait-only connection per running container to its shim, through which the daemon learns of
//! the exit (exit code, OOM kill) the moment it happens — to wake `wait` requests and publish `die`/`destroy`
//! events. Containers the daemon did not start itself (started daemonless, or before a restart) get one on adoption.

use std::os::unix::net::UnixStream;

use berth_engine::attach::{self, Kind};
use berth_engine::model::Container;
use tokio::io::AsyncReadExt;

use super::{Shared, blocking};

/// Starts monitoring container `c` through `stream`, a shim connection that already sent its (wait-only) hello.
pub(crate) fn spawn(d: &Shared, c: Container, stream: UnixStream) {
    let d = d.clone();
    tokio::spawn(async move { run(d, c, stream).await });
}

/// Attaches a monitor to running container `id` unless one is there already (blocking: call from the pool).
pub(crate) fn ensure(d: &Shared, handle: &tokio::runtime::Handle, c: &Container) {
    let slot = d.slot(&c.id);
    if !slot.claim_monitor() {
        return;
    }
    match d.engine.subscribe_exit(&c.id) {
        Some(stream) => {
            let _guard = handle.enter();
            spawn(d, c.clone(), stream);
        }
        None => slot.release_monitor(),
    }
}

/// Reads one frame; `None` at end of stream or on a broken one.
async fn read_frame(s: &mut tokio::net::UnixStream) -> Option<(Kind, Vec<u8>)> {
    let mut header = [0u8; 8];
    s.read_exact(&mut header).await.ok()?;
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > attach::MAX_FRAME {
        return None;
    }
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.ok()?;
    let mut d = attach::Decoder::default();
    d.push(&header);
    d.push(&payload);
    d.next_frame().ok().flatten()
}

async fn run(d: Shared, c: Container, stream: UnixStream) {
    let slot = d.slot(&c.id);
    let stream = stream
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(stream));
    let mut exit = None;
    if let Ok(mut s) = stream {
        while let Some((kind, payload)) = read_frame(&mut s).await {
            if kind == Kind::Exit {
                exit = attach::parse_exit(&payload);
                break;
            }
        }
    }
    slot.release_monitor();
    let id = c.id.clone();
    // The record says whether the container is gone (--rm retires it before the exit frame is sent) and, when the
    // shim vanished without an exit frame, what exit was recorded.
    let record = blocking(&d, move |d| Ok(d.engine.inspect(&id).ok()))
        .await
        .ok()
        .flatten();
    let (code, oom) = match (exit, &record) {
        (Some(e), _) => e,
        (None, Some(r)) if !r.state.running => (r.state.exit_code, r.state.oom_killed),
        // Still running (a monitor connection that broke): nothing happened to report.
        (None, Some(_)) => return,
        (None, None) => (255, false),
    };
    let removed = record.is_none();
    if oom {
        d.container_event(&c, "oom", &[]);
    }
    d.container_event(&c, "die", &[("exitCode", code.to_string())]);
    slot.mark_exited(code, removed);
    if removed {
        d.container_event(&c, "destroy", &[]);
        d.drop_slot(&c.id);
    }
}
