//! Container endpoints that read or change records: list, create, inspect, remove, rename, top.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::CreateRequest;
use berth_engine::model::{Container, Status};
use serde_json::{Value, json};

use super::params::{Params, json_body};
use super::port_summary::{self, PortFilter};
use super::{Shared, blocking};
use crate::error::{Error, Result};

const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// Whether `c` passes filter `key=value` (`all` is the whole list, for `before`/`since`).
fn passes(c: &Container, key: &str, value: &str, all: &[Container]) -> bool {
    let position = |r: &str| all.iter().position(|o| o.id.starts_with(r) || o.bare_name() == r);
    let me = all.iter().position(|o| o.id == c.id);
    match key {
        "status" => c.state.status.as_str() == value,
        "name" => c.bare_name().contains(value.trim_start_matches('/')),
        "id" => c.id.starts_with(value),
        "exited" => c.state.status == Status::Exited && c.state.exit_code.to_string() == value,
        "ancestor" => {
            c.config.image == value || c.image == value || c.image.starts_with(&format!("sha256:{value}"))
        }
        "label" => {
            let labels = c.config.labels.as_ref();
            match value.split_once('=') {
                Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == v),
                None => labels.is_some_and(|l| l.contains_key(value)),
            }
        }
        // The list is newest first: "before X" are the ones after X in it.
        "before" => matches!((position(value), me), (Some(x), Some(m)) if m > x),
        "since" => matches!((position(value), me), (Some(x), Some(m)) if m < x),
        "volume" => c
            .mounts
            .iter()
            .any(|m| m.source == value || m.destination == value),
        "network" => c
            .network_settings
            .networks
            .iter()
            .any(|(name, ep)| name == value || (!value.is_empty() && ep.network_id.starts_with(value))),
        "publish" => PortFilter::parse(key, value).is_ok_and(|f| f.published_by(c)),
        "expose" => PortFilter::parse(key, value).is_ok_and(|f| f.exposed_by(c)),
        _ => false,
    }
}

/// The list entry of a container (Docker's ContainerSummary).
fn summary(c: &Container) -> Value {
    let mut command = c.path.clone();
    for a in &c.args {
        command.push(' ');
        command.push_str(a);
    }
    let created = berth_engine::timefmt::parse(&c.created).map_or(0, |n| n / 1_000_000_000);
    let mounts: Vec<Value> = c
        .mounts
        .iter()
        .map(|m| {
            json!({"Type": m.kind, "Source": m.source, "Destination": m.destination, "Mode": m.mode,
                   "RW": m.rw, "Propagation": m.propagation})
        })
        .collect();
    json!({
        "Id": c.id,
        "Names": [c.name],
        "Image": if c.config.image.is_empty() { &c.image } else { &c.config.image },
        "ImageID": c.image,
        "Command": command,
        "Created": created,
        "Ports": port_summary::ports(c),
        "Labels": c.config.labels.clone().unwrap_or_default(),
        "State": c.state.status.as_str(),
        "Status": c.status_text(),
        "HostConfig": {"NetworkMode": c.host_config.network_mode},
        "NetworkSettings": {"Networks": c.network_settings.networks},
        "Mounts": mounts,
    })
}

/// `GET /containers/json?all=&limit=&filters=`.
pub async fn list(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Json<Vec<Value>>> {
    let p = Params::parse(q.as_deref())?;
    let filters: HashMap<String, Vec<String>> = p.filters()?;
    for (k, values) in &filters {
        if !LIST_FILTERS.contains(&k.as_str()) {
            return Err(Error::bad_request(format!("invalid filter '{k}'")));
        }
        if k == "status"
            && let Some(v) = values.iter().find(|v| !STATUSES.contains(&v.as_str()))
        {
            return Err(Error::bad_request(format!("invalid filter 'status={v}'")));
        }
        if k == "publish" || k == "expose" {
            for v in values {
                PortFilter::parse(k, v)?;
            }
        }
    }
    let limit = p.int("limit")?.filter(|l| *l > 0);
    let all = p.flag("all") || limit.is_some();
    blocking(&d, move |d| {
        let everything = d.engine.list(true)?;
        let mut out: Vec<Value> = Vec::new();
        for c in &everything {
            let running = matches!(
                c.state.status,
                Status::Running | Status::Paused | Status::Restarting
            );
            // A status or exited filter looks at every container, as Docker does.
            let wide = all || filters.contains_key("status") || filters.contains_key("exited");
            if !running && !wide {
                continue;
            }
            if filters
                .iter()
                .all(|(k, values)| values.is_empty() || values.iter().any(|v| passes(c, k, v, &everything)))
            {
                out.push(summary(c));
            }
        }
        if let Some(l) = limit {
            out.truncate(l as usize);
        }
        Ok(Json(out))
    })
    .await
}

/// `POST /containers/create?name=`: 201 `{"Id", "Warnings"}`.
pub async fn create(State(d): State<Shared>, RawQuery(q): RawQuery, body: Body) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let mut req: CreateRequest = json_body(body).await?;
    req.name = p.get("name").filter(|n| !n.is_empty()).map(str::to_string);
    if req.host_config.log_config.kind.is_empty() {
        req.host_config.log_config.kind = "json-file".into();
    }
    blocking(&d, move |d| {
        // A start usually follows: get cgroup v1's attach grace period going now (see `Engine::warm_up_start`).
        d.engine.warm_up_start();
        let created = d.engine.create(req)?;
        if let Ok(c) = d.engine.inspect(&created.id) {
            d.container_event(&c, "create", &[]);
        }
        Ok((StatusCode::CREATED, Json(created)).into_response())
    })
    .await
}

/// `GET /containers/{id}/json`: the record as Docker shows it (without Berth's private fields).
pub async fn inspect(State(d): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>> {
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        let mut v = serde_json::to_value(&c).map_err(|e| Error::internal(e.to_string()))?;
        if let Some(state) = v.get_mut("State").and_then(Value::as_object_mut) {
            state.remove("BerthShimPid");
        }
        Ok(Json(v))
    })
    .await
}

/// `DELETE /containers/{id}?force=&v=`.
pub async fn remove(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let force = p.flag("force");
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        d.engine.remove(&c.id, force)?;
        d.container_event(&c, "destroy", &[]);
        d.drop_slot(&c.id);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let Some(name) = p.get("name").map(str::to_string) else {
        return Err(Error::bad_request("name is required"));
    };
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        d.engine.rename(&c.id, &name)?;
        if let Ok(renamed) = d.engine.inspect(&c.id) {
            d.container_event(&renamed, "rename", &[("oldName", c.name.clone())]);
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `GET /containers/{id}/top`.
pub async fn top(State(d): State<Shared>, Path(id): Path<String>) -> Result<Json<berth_engine::Top>> {
    blocking(&d, move |d| Ok(Json(d.engine.top(&id)?))).await
}

/// `POST /containers/{id}/update`: `{"Warnings"}`.
pub async fn update(State(d): State<Shared>, Path(id): Path<String>, body: Body) -> Result<Json<Value>> {
    let req: berth_engine::UpdateRequest = json_body(body).await?;
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        let warnings = d.engine.update(&c.id, &req)?;
        d.container_event(&c, "update", &[]);
        Ok(Json(
            json!({"Warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) }}),
        ))
    })
    .await
}

/// Parses a prune `until`: unix seconds (with a fraction), RFC 3339, or a Go duration back from now ("24h", "90m").
pub(crate) fn parse_until(v: &str) -> Result<i64> {
    let bad = || Error::bad_request(format!("invalid value for until: {v}"));
    if let Ok(nanos) = crate::events::parse_time(v) {
        return Ok(nanos / 1_000_000_000);
    }
    if let Some(n) = berth_engine::timefmt::parse(v) {
        return Ok((n / 1_000_000_000) as i64);
    }
    let mut secs = 0f64;
    let mut num = String::new();
    for ch in v.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        num.clear();
        secs += n * match ch {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() || secs == 0.0 {
        return Err(bad());
    }
    let now = (berth_engine::timefmt::unix_nanos() / 1_000_000_000) as i64;
    Ok(now - secs as i64)
}

/// `POST /containers/prune?filters=`: removes stopped containers (`until`, `label`, `label!` filters).
pub async fn prune(
    State(d): State<Shared>,
    RawQuery(q): RawQuery,
) -> Result<Json<berth_engine::ContainerPruneReport>> {
    let p = Params::parse(q.as_deref())?;
    let filters = p.filters()?;
    let mut until = None;
    let mut labels = Vec::new();
    for (k, values) in &filters {
        for v in values {
            match k.as_str() {
                "until" => until = Some(parse_until(v)?),
                "label" | "label!" => {
                    let (key, value) = match v.split_once('=') {
                        Some((a, b)) => (a.to_string(), Some(b.to_string())),
                        None => (v.clone(), None),
                    };
                    labels.push((key, value, k == "label!"));
                }
                _ => return Err(Error::bad_request(format!("invalid filter '{k}'"))),
            }
        }
    }
    blocking(&d, move |d| {
        let before = d.engine.list(true)?;
        let report = d.engine.prune_containers(until, &labels)?;
        for c in before
            .iter()
            .filter(|c| report.containers_deleted.contains(&c.id))
        {
            d.container_event(c, "destroy", &[]);
            d.drop_slot(&c.id);
        }
        Ok(Json(report))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_forms() {
        assert_eq!(parse_until("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_until("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        let now = (berth_engine::timefmt::unix_nanos() / 1_000_000_000) as i64;
        let t = parse_until("1h30m").unwrap();
        assert!((now - 5400 - t).abs() <= 1);
        assert!(parse_until("soon").is_err());
        assert!(parse_until("5x").is_err());
    }
}
