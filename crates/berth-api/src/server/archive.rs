//! Container filesystem endpoints: `archive` (GET a tar of a path, HEAD its stat, PUT a tar into a directory — what
//! `docker cp` uses), `export` (the whole root filesystem) and `changes` (`docker diff`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use berth_engine::{Change, PathStat, PutOptions};

use super::params::Params;
use super::streams::{body_reader, body_writer};
use super::{Shared, blocking};
use crate::error::{Error, Result};

/// The header `docker cp` reads a path's stat from.
const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn path_param(p: &Params) -> Result<String> {
    match p.get("path") {
        Some(path) if !path.is_empty() => Ok(path.to_string()),
        _ => Err(Error::bad_request("path is required")),
    }
}

fn stat_header(stat: &PathStat) -> Result<HeaderValue> {
    let json = serde_json::to_vec(stat).map_err(|e| Error::internal(e.to_string()))?;
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(json))
        .map_err(|e| Error::internal(e.to_string()))
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn stat(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let path = path_param(&Params::parse(q.as_deref())?)?;
    let stat = blocking(&d, move |d| Ok(d.engine.archive_stat(&id, &path)?)).await?;
    Ok((StatusCode::OK, [(STAT_HEADER, stat_header(&stat)?)]).into_response())
}

/// `GET /containers/{id}/archive?path=`.
pub async fn get(State(d): State<Shared>, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response> {
    let path = path_param(&Params::parse(q.as_deref())?)?;
    // The stat comes first and separately: a missing path must be a 404, not a broken stream.
    let (id2, path2) = (id.clone(), path.clone());
    let stat = blocking(&d, move |d| Ok(d.engine.archive_stat(&id2, &path2)?)).await?;
    let (mut out, body) = body_writer();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = d2.engine.archive_get(&id, &path, &mut out) {
            tracing::warn!(error = %e, "archive read failed");
        }
    });
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-tar"),
            ),
            (
                header::HeaderName::from_static("x-docker-container-path-stat"),
                stat_header(&stat)?,
            ),
        ],
        body,
    )
        .into_response())
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: extracts the body's tar into `path`.
pub async fn put(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let path = path_param(&p)?;
    let opts = PutOptions {
        no_overwrite_dir_non_dir: p.flag("noOverwriteDirNonDir"),
        copy_uid_gid: p.flag("copyUIDGID"),
    };
    let mut reader = body_reader(body);
    blocking(&d, move |d| {
        d.engine.archive_put(&id, &path, &mut reader, opts)?;
        if let Ok(c) = d.engine.inspect(&id) {
            d.container_event(&c, "extract-to-dir", &[]);
        }
        Ok(StatusCode::OK.into_response())
    })
    .await
}

/// `GET /containers/{id}/export`.
pub async fn export(State(d): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    let c = blocking(&d, move |d| Ok(d.engine.inspect(&id)?)).await?;
    let (mut out, body) = body_writer();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || match d2.engine.export(&c.id, &mut out) {
        Ok(()) => d2.container_event(&c, "export", &[]),
        Err(e) => tracing::warn!(error = %e, "export failed"),
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-tar")],
        body,
    )
        .into_response())
}

/// `GET /containers/{id}/changes`.
pub async fn changes(State(d): State<Shared>, Path(id): Path<String>) -> Result<Json<Vec<Change>>> {
    blocking(&d, move |d| Ok(Json(d.engine.changes(&id)?))).await
}
