//! The registry account endpoints: `POST /auth` (check credentials against a registry, as `docker login` asks
//! the daemon to) and `GET /images/search` (Docker Hub's search, or a registry's v1 search).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use berth_engine::{AuthConfig, SearchOptions};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::{Params, parse_json};
use super::{Shared, blocking};
use crate::error::{Error, Result};

/// The body of `POST /auth` (Docker's `AuthConfig`).
#[derive(Default, Deserialize)]
#[serde(default)]
struct AuthRequest {
    username: String,
    password: String,
    serveraddress: String,
    identitytoken: String,
    registrytoken: String,
}

/// `POST /auth`: 200 `{"Status": "Login Succeeded", "IdentityToken": …}`, or 401 with the registry's refusal.
pub async fn auth(State(d): State<Shared>, body: Bytes) -> Result<Json<Value>> {
    let req: AuthRequest = parse_json(&body)?;
    let creds = AuthConfig {
        username: req.username,
        password: req.password,
        identity_token: req.identitytoken,
        registry_token: req.registrytoken,
    };
    let server = req.serveraddress;
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
