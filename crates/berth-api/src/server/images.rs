//! Image endpoints: list, import and pull (`POST /images/create?fromSrc=` / `fromImage=`), inspect, tag, remove
//! and prune.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_image::{ImportOptions, RemoveEvent};
use serde_json::{Value, json};

use super::params::Params;
use super::streams::body_reader;
use super::{Shared, blocking};
use crate::error::{Error, Result};

/// `GET /images/json?all=&filters=`.
pub async fn list(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Json<Vec<Value>>> {
    let p = Params::parse(q.as_deref())?;
    let filters = p.filters()?;
    if let Some(k) = filters
        .keys()
        .find(|k| !["dangling", "label", "reference", "before", "since"].contains(&k.as_str()))
    {
        return Err(Error::bad_request(format!("invalid filter '{k}'")));
    }
    blocking(&d, move |d| {
        let mut images = d.engine.images().list()?;
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        let dangling = filters
            .get("dangling")
            .and_then(|v| v.first())
            .map(|v| v == "true" || v == "1");
        let labels = filters.get("label").cloned().unwrap_or_default();
        let references = filters.get("reference").cloned().unwrap_or_default();
        let out = images
            .into_iter()
            .filter(|i| dangling.is_none_or(|want| want == i.repo_tags.is_empty()))
            .filter(|i| {
                labels.iter().all(|l| match l.split_once('=') {
                    Some((k, v)) => i.labels.get(k).is_some_and(|x| x == v),
                    None => i.labels.contains_key(l),
                })
            })
            .filter(|i| {
                references.is_empty()
                    || i.repo_tags.iter().any(|t| {
                        let repo = t.rsplit_once(':').map_or(t.as_str(), |(r, _)| r);
                        references.iter().any(|r| glob_match(r, t) || glob_match(r, repo))
                    })
            })
            .map(|i| {
                json!({
                    "Containers": -1,
                    "Created": i.created,
                    "Id": i.id.as_str(),
                    "Labels": i.labels,
                    "ParentId": i.parent.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
                    "RepoDigests": i.repo_digests,
                    "RepoTags": i.repo_tags,
                    "SharedSize": -1,
                    "Size": i.size,
                    "VirtualSize": i.size,
                })
            })
            .collect();
        Ok(Json(out))
    })
    .await
}

/// Docker's reference filter patterns: `*` matches within a path component.
fn glob_match(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((pre, rest)) => {
            let Some(tail) = s.strip_prefix(pre) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| !tail[..i].contains('/') && glob_match(rest, &tail[i..]))
        }
    }
}

/// `POST /images/create`: `fromImage` pulls from a registry (see `pull`); `fromSrc=-` imports the request body
/// as a root filesystem (with `repo`, `tag`, `changes`, `message`, `platform`).
pub async fn create(
    State(d): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    if p.get("fromImage").is_some() {
        return super::transfer::pull(d, p, &headers).await;
    }
    let Some(src) = p.get("fromSrc") else {
        return Err(Error::bad_request("fromImage or fromSrc is required"));
    };
    if src != "-" {
        return Err(Error::bad_request(format!(
            "importing from a URL is not supported: {src} (send the archive in the request body with fromSrc=-)"
        )));
    }
    let repo = p.get("repo").filter(|r| !r.is_empty());
    let reference = repo.map(|r| match p.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{r}:{t}"),
        None => r.to_string(),
    });
    let opts = ImportOptions {
        reference: reference.clone(),
        changes: p.all("changes").into_iter().map(str::to_string).collect(),
        message: p.get("message").filter(|m| !m.is_empty()).map(str::to_string),
        platform: p.get("platform").filter(|m| !m.is_empty()).map(str::to_string),
    };
    let reader = body_reader(body);
    let id = blocking(&d, move |d| {
        let id = d.engine.images().import(reader, opts)?;
        d.image_event("import", id.as_str(), reference.as_deref().unwrap_or(id.as_str()));
        Ok(id)
    })
    .await?;
    // Docker answers with a progress stream whose last message is the new image's id.
    let line = format!("{}\r\n", json!({"status": id.as_str()}));
    Ok((StatusCode::OK, [("Content-Type", "application/json")], line).into_response())
}

/// `GET /images/{name}/json`.
pub async fn inspect(State(d): State<Shared>, Path(name): Path<String>) -> Result<Json<Value>> {
    blocking(&d, move |d| Ok(Json(d.engine.image_inspect(&name)?))).await
}

/// `POST /images/{name}/tag?repo=&tag=`: 201.
pub async fn tag(
    State(d): State<Shared>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let Some(repo) = p.get("repo").filter(|r| !r.is_empty()) else {
        return Err(Error::bad_request(
            "repository name must have at least one component",
        ));
    };
    let target = match p.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    };
    blocking(&d, move |d| {
        d.engine.images().tag(&name, &target)?;
        let image = d.engine.images().get(&target)?;
        d.image_event("tag", image.id.as_str(), &target);
        Ok(StatusCode::CREATED.into_response())
    })
    .await
}

/// `DELETE /images/{name}?force=&noprune=`: the untag/delete list.
pub async fn remove(
    State(d): State<Shared>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Vec<Value>>> {
    let p = Params::parse(q.as_deref())?;
    let force = p.flag("force");
    blocking(&d, move |d| {
        let events = d.engine.remove_image(&name, force)?;
        Ok(Json(
            events
                .iter()
                .map(|e| match e {
                    RemoveEvent::Untagged(r) => {
                        d.image_event("untag", r, r);
                        json!({"Untagged": r})
                    }
                    RemoveEvent::Deleted(id) => {
                        d.image_event("delete", id.as_str(), id.as_str());
                        json!({"Deleted": id.as_str()})
                    }
                })
                .collect(),
        ))
    })
    .await
}

/// `POST /images/prune?filters=`: `dangling=false` prunes every unused image.
pub async fn prune(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Json<Value>> {
    let p = Params::parse(q.as_deref())?;
    let filters = p.filters()?;
    if let Some(k) = filters.keys().find(|k| k.as_str() != "dangling") {
        return Err(Error::bad_request(format!("invalid filter '{k}'")));
    }
    let all = filters
        .get("dangling")
        .and_then(|v| v.first())
        .is_some_and(|v| v == "false" || v == "0");
    blocking(&d, move |d| {
        let report = d.engine.prune_images(all)?;
        let deleted: Vec<Value> = report
            .deleted
            .iter()
            .map(|e| match e {
                RemoveEvent::Untagged(r) => json!({"Untagged": r}),
                RemoveEvent::Deleted(id) => json!({"Deleted": id.as_str()}),
            })
            .collect();
        Ok(Json(json!({
            "ImagesDeleted": if deleted.is_empty() { Value::Null } else { Value::Array(deleted) },
            "SpaceReclaimed": report.space_reclaimed,
        })))
    })
    .await
}

/// `GET /images/{name}/history`.
pub async fn history(
    State(d): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Vec<berth_engine::HistoryItem>>> {
    blocking(&d, move |d| Ok(Json(d.engine.image_history(&name)?))).await
}

/// `GET /images/get?names=…` and `GET /images/{name}/get`: a `docker save` archive of the named images.
pub async fn save(State(d): State<Shared>, names: Vec<String>) -> Result<Response> {
    if names.is_empty() {
        return Err(Error::bad_request("no images named"));
    }
    // Resolve the names first, so an unknown one is a 404 rather than a broken download.
    let check = names.clone();
    blocking(&d, move |d| {
        for n in &check {
            d.engine.images().get(n)?;
        }
        Ok(())
    })
    .await?;
    let (mut out, body) = super::streams::body_writer();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = d2.engine.save_images(&names, &mut out) {
            // The status is sent already; a truncated archive is how the client learns of the failure.
            tracing::warn!(error = %e, "image save failed");
            return;
        }
        for n in &names {
            if let Ok(img) = d2.engine.images().get(n) {
                d2.image_event("save", img.id.as_str(), n);
            }
        }
    });
    Ok((StatusCode::OK, [("Content-Type", "application/x-tar")], body).into_response())
}

/// `GET /images/get?names=a&names=b`.
pub async fn save_many(state: State<Shared>, RawQuery(q): RawQuery) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let names = p.all("names").into_iter().map(str::to_string).collect();
    save(state, names).await
}

/// `POST /images/load?quiet=`: loads a `docker save` archive from the body; a JSON message stream answers.
pub async fn load(State(d): State<Shared>, body: Body) -> Result<Response> {
    let mut reader = body_reader(body);
    let loaded = blocking(&d, move |d| {
        let loaded = d.engine.load_images(&mut reader)?;
        for img in &loaded {
            d.image_event(
                "load",
                img.id.as_str(),
                img.tags.first().map_or(img.id.as_str(), String::as_str),
            );
        }
        Ok(loaded)
    })
    .await?;
    let mut out = String::new();
    for img in &loaded {
        for m in img.messages() {
            out.push_str(&json!({"stream": format!("{m}\n")}).to_string());
            out.push_str("\r\n");
        }
    }
    Ok((StatusCode::OK, [("Content-Type", "application/json")], out).into_response())
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn reference_globs() {
        assert!(glob_match("busy*", "busybox"));
        assert!(!glob_match("a*", "a/b"));
        assert!(glob_match("*:latest", "busybox:latest"));
        assert!(glob_match("busybox", "busybox"));
        assert!(!glob_match("busybox", "busybox2"));
    }
}
