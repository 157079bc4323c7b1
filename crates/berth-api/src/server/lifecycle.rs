//! Container lifecycle endpoints: start, stop, restart, kill, pause, unpause, wait and resize. Starts go through the
//! daemon so the shim gets the exit monitor and any attach connections made before the start.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::StartOptions;
use berth_engine::attach::{self, Kind};
use berth_engine::model::Status;

use super::params::Params;
use super::{Daemon, Shared, blocking, monitor};
use crate::error::{Error, Result};

/// Starts container `reference` (blocking); false if it was running already.
pub(crate) fn start_container(d: &Shared, handle: &tokio::runtime::Handle, reference: &str) -> Result<bool> {
    let c = d.engine.inspect(reference)?;
    if c.state.running {
        return Ok(false);
    }
    let slot = d.slot(&c.id);
    let mut pending = slot.pending.lock().unwrap_or_else(|p| p.into_inner());
    let (mut mon, mon_shim) = UnixStream::pair().map_err(|e| Error::internal(format!("socketpair: {e}")))?;
    attach::write_frame(&mut mon, Kind::Hello, &[0]).map_err(|e| Error::internal(format!("monitor: {e}")))?;
    let mut clients: Vec<OwnedFd> = vec![mon_shim.into()];
    clients.append(&mut pending);
    let started = d.engine.start(&c.id, StartOptions { attach: clients });
    drop(pending);
    let started = match started {
        // Another start won the race: its monitor watches the shim.
        Ok(None) => return Ok(false),
        Ok(Some(_)) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = started {
        // Waiters learn of the failed start too. A --rm container goes: its shim removed it when the failure was
        // the container's; when the start failed before any shim ran, it is removed here, as Docker does.
        if c.host_config.auto_remove && d.engine.inspect(&c.id).is_ok() {
            let _ = d.engine.remove(&c.id, true);
        }
        let removed = d.engine.inspect(&c.id).is_err();
        slot.mark_exited(e.exit_code(), removed);
        if removed {
            d.container_event(&c, "destroy", &[]);
            d.drop_slot(&c.id);
        }
        return Err(e.into());
    }
    // The previous run's monitor (if any) has seen its shim go; this one watches the new shim.
    slot.release_monitor();
    if slot.claim_monitor() {
        let _guard = handle.enter();
        monitor::spawn(d, c.clone(), mon);
    }
    d.container_event(&c, "start", &[]);
    Ok(true)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /containers/{id}/start`: 204, or 304 when already running.
pub async fn start(State(d): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let handle = tokio::runtime::Handle::current();
    let d2 = d.clone();
    let started = blocking(&d, move |_| start_container(&d2, &handle, &id)).await?;
    Ok(if started {
        no_content()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    })
}

fn timeout(p: &Params) -> Result<Option<i32>> {
    Ok(p.int("t")?
        .or(p.int("timeout")?)
        .map(|t| t.clamp(i32::MIN as i64, i32::MAX as i64) as i32))
}

/// `POST /containers/{id}/stop?t=&signal=`: 204, or 304 when not running.
pub async fn stop(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let t = timeout(&p)?;
    let signal = p.get("signal").filter(|s| !s.is_empty()).map(str::to_string);
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
        d.engine.stop(&c.id, t, signal.as_deref())?;
        d.container_event(&c, "stop", &[]);
        Ok(no_content())
    })
    .await
}

/// `POST /containers/{id}/restart?t=`.
pub async fn restart(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let t = timeout(&p)?;
    let handle = tokio::runtime::Handle::current();
    let d2 = d.clone();
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        d.engine.stop(&c.id, t, None)?;
        start_container(&d2, &handle, &c.id)?;
        d.container_event(&c, "restart", &[]);
        Ok(no_content())
    })
    .await
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let signal = p.get("signal").filter(|s| !s.is_empty()).map(str::to_string);
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        d.engine.kill(&c.id, signal.as_deref())?;
        let signo = berth_engine::parse_signal(signal.as_deref().unwrap_or("KILL")).unwrap_or(9);
        d.container_event(&c, "kill", &[("signal", signo.to_string())]);
        Ok(no_content())
    })
    .await
}

/// `POST /containers/{id}/pause` and `/unpause`.
pub async fn pause(State(d): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    freeze(d, id, true).await
}

pub async fn unpause(State(d): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    freeze(d, id, false).await
}

async fn freeze(d: Shared, id: String, pause: bool) -> Result<Response> {
    blocking(&d, move |d: &Daemon| {
        let c = d.engine.inspect(&id)?;
        if pause {
            d.engine.pause(&c.id)?;
        } else {
            d.engine.unpause(&c.id)?;
        }
        d.container_event(&c, if pause { "pause" } else { "unpause" }, &[]);
        Ok(no_content())
    })
    .await
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let (rows, cols) = size_params(&Params::parse(q.as_deref())?)?;
    blocking(&d, move |d| {
        d.engine.resize(&id, rows, cols)?;
        Ok(StatusCode::OK.into_response())
    })
    .await
}

/// The `h` and `w` parameters of a resize.
pub(crate) fn size_params(p: &Params) -> Result<(u16, u16)> {
    let dim = |k: &str| -> Result<u16> {
        let v = p.int(k)?.unwrap_or(0);
        u16::try_from(v).map_err(|_| Error::bad_request(format!("invalid value for {k}: {v}")))
    };
    Ok((dim("h")?, dim("w")?))
}

/// `POST /containers/{id}/wait?condition=`: headers at once, then `{"StatusCode": n, "Error": null}` when the
/// condition is met.
pub async fn wait(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let condition = p.get("condition").unwrap_or("not-running").to_string();
    if !matches!(condition.as_str(), "" | "not-running" | "next-exit" | "removed") {
        return Err(Error::bad_request(format!("invalid condition: \"{condition}\"")));
    }
    let handle = tokio::runtime::Handle::current();
    let d2 = d.clone();
    let (slot, mut rx, seen, c) = blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        let slot = d.slot(&c.id);
        let rx = slot.subscribe();
        let seen = rx.borrow().count;
        // Read again after subscribing: an exit in between is then either in the record or on the channel.
        let c = d.engine.inspect(&c.id)?;
        if c.state.running {
            monitor::ensure(&d2, &handle, &c);
        }
        Ok((slot, rx, seen, c))
    })
    .await?;
    let body = async move {
        let _slot = slot;
        let code = match condition.as_str() {
            "next-exit" => rx.wait_for(|e| e.count > seen).await.map(|e| e.code).ok(),
            "removed" => rx.wait_for(|e| e.removed).await.map(|e| e.code).ok(),
            _ if !c.state.running => Some(c.state.exit_code),
            _ => rx.wait_for(|e| e.count > seen).await.map(|e| e.code).ok(),
        };
        let mut out = Vec::new();
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"StatusCode": code.unwrap_or(255), "Error": null})
        );
        Ok::<_, std::io::Error>(bytes::Bytes::from(out))
    };
    let stream = futures_util::stream::once(body);
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .body(Body::from_stream(stream))
        .map_err(|e| Error::internal(e.to_string()))
}
