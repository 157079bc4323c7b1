//! `GET /containers/{id}/stats`: resource samples in Docker's shape. Streamed once a second by default, each with
//! the previous sample's CPU figures as `precpu_stats` (what `docker stats` computes CPU % from); `stream=false`
//! answers with one sample taken a second after a first, as dockerd does, or at once with `one-shot=true`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_engine::StatsSample;

use super::params::Params;
use super::{Shared, blocking};
use crate::error::Result;

const INTERVAL: Duration = Duration::from_secs(1);

async fn sample(d: &Shared, id: &str, previous: Option<&StatsSample>) -> Result<StatsSample> {
    let id = id.to_string();
    let mut s = blocking(d, move |d| Ok(d.engine.stats_sample(&id)?)).await?;
    if let Some(p) = previous {
        s.preread = p.read.clone();
        s.precpu_stats = p.cpu_stats.clone();
    }
    Ok(s)
}

fn line(s: &StatsSample) -> bytes::Bytes {
    let mut v = serde_json::to_vec(s).unwrap_or_default();
    v.push(b'\n');
    bytes::Bytes::from(v)
}

pub async fn stats(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let stream = p.get("stream").is_none() || p.flag("stream");
    let one_shot = p.flag("one-shot");
    let c = blocking(&d, move |d| Ok(d.engine.inspect(&id)?)).await?;
    let first = sample(&d, &c.id, None).await?;
    if !stream {
        let s = if one_shot || !c.state.running {
            first
        } else {
            tokio::time::sleep(INTERVAL).await;
            sample(&d, &c.id, Some(&first)).await?
        };
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            line(&s),
        )
            .into_response());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(2);
    tokio::spawn(async move {
        let mut previous = first;
        if tx.send(line(&previous)).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(INTERVAL).await;
            let Ok(next) = sample(&d, &c.id, Some(&previous)).await else {
                return;
            };
            if tx.send(line(&next)).await.is_err() {
                return;
            }
            previous = next;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}
