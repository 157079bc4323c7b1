//! The registry account endpoints: `POST /auth` (check credentials against a registry, as `docker login` asks
//! the daemon to) and `GET /images/search` (Docker Hub's search, or a registry's v1 search).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use berth_engine::{AuthConfig, SearchOptions};
use serde_json::{Value, json};

use super::params::Params;
use super::{Shared, blocking};
use crate::error::{Error, Result};

/// `POST /auth`: 200 `{"Status": "Login Succeeded", "IdentityToken": …}`, or 401 with the registry's refusal.
pub async fn auth(State(d): State<Shared>, body: Bytes) -> Result<Json<Value>> {
    let (creds, server) =
        AuthConfig::from_json(&body, "JSON").map_err(|e| Error::bad_request(e.to_string()))?;
    let login = blocking(&d, move |d| {
        d.engine.login(&creds, &server).map_err(|e| match e {
            berth_engine::Error::Registry(r) if r.kind() == berth_engine::RegistryErrorKind::Unauthorized => {
                Error::new(StatusCode::UNAUTHORIZED, r.to_string())
            }
            e => e.into(),
        })
    })
    .await?;
    Ok(Json(json!({
        "Status": "Login Succeeded",
        "IdentityToken": login.identity_token.unwrap_or_default(),
    })))
}

/// `GET /images/search?term=&limit=&filters=`.
pub async fn search(
    State(d): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let p = Params::parse(q.as_deref())?;
    let term = p.get("term").unwrap_or_default().to_string();
    let limit = p.int("limit")?.unwrap_or(0);
    let limit = u32::try_from(limit)
        .map_err(|_| Error::bad_request(format!("limit {limit} is outside the range of [1, 100]")))?;
    let filters = p.filters()?;
    let mut opts = SearchOptions::from_filters(limit, &filters)?;
    opts.auth = super::transfer::auth_of(&headers);
    let results = blocking(&d, move |d| Ok(d.engine.search(&term, &opts)?)).await?;
    let rows: Vec<Value> = results
        .into_iter()
        .map(|r| {
            json!({
                "description": r.description,
                "is_official": r.is_official,
                "is_automated": r.is_automated,
                "name": r.name,
                "star_count": r.star_count,
            })
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}
