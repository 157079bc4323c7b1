//! `GET /containers/{id}/logs`: the json-file log, filtered, as multiplexed frames (raw bytes with a tty),
//! optionally followed until the container exits.

use std::io::Write;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::attach::{self, Kind};
use berth_engine::logs::LogFilter;

use super::params::Params;
use super::streams::body_writer;
use super::{Shared, blocking};
use crate::error::{Error, Result};
use crate::events::parse_time;

pub async fn logs(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let (stdout, stderr) = (p.flag("stdout"), p.flag("stderr"));
    if !stdout && !stderr {
        return Err(Error::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let time = |k: &str| -> Result<Option<i128>> {
        match p.get(k).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => parse_time(v)
                .map(|n| Some(i128::from(n)))
                .map_err(Error::bad_request),
        }
    };
    let tail = match p.get("tail").filter(|t| !t.is_empty() && *t != "all") {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| Error::bad_request(format!("invalid value for tail: {t}")))?
                .max(0) as usize,
        ),
    };
    let filter = LogFilter {
        stdout,
        stderr,
        since: time("since")?,
        until: time("until")?,
        tail,
    };
    let follow = p.flag("follow");
    let timestamps = p.flag("timestamps");
    let c = blocking(&d, move |d| Ok(d.engine.inspect(&id)?)).await?;
    let tty = c.config.tty;
    let (mut out, body) = body_writer();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        let mut line = Vec::new();
        let wanted = out.reader_present();
        let _ = d2.engine.logs(&c.id, &filter, follow, &wanted, &mut |e| {
            line.clear();
            if timestamps {
                line.extend_from_slice(e.time.as_bytes());
                line.push(b' ');
            }
            line.extend_from_slice(e.log.as_bytes());
            if tty {
                out.write_all(&line)?;
            } else {
                let kind = if e.stream == "stderr" {
                    Kind::Stderr
                } else {
                    Kind::Stdout
                };
                attach::write_frame(&mut out, kind, &line)?;
            }
            if follow { out.flush() } else { Ok(()) }
        });
    });
    // API 1.41 names both forms raw-stream; clients tell them apart by the container's tty setting.
    Ok((
        StatusCode::OK,
        [("Content-Type", "application/vnd.docker.raw-stream")],
        body,
    )
        .into_response())
}
