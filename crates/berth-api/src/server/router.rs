//! Routes, and the outer layer every request passes: the `/vX.Y` prefix is checked and stripped before routing,
//! and every answer carries the negotiation headers (`Api-Version`, `Ostype`, …).

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceExt;

use super::params::Params;
use super::{
    Shared, archive, attach, containers, exec, images, lifecycle, logs, networks, registry, stats, system,
    transfer,
};
use crate::error::{Error, Result};
use crate::version::{API_VERSION, Prefix, split_prefix};

/// The API's routes over `daemon`.
fn routes(daemon: Shared) -> Router {
    Router::new()
        .route("/_ping", get(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/auth", post(registry::auth))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/{id}", axum::routing::delete(containers::remove))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/logs", get(logs::logs))
        .route("/containers/{id}/start", post(lifecycle::start))
        .route("/containers/{id}/stop", post(lifecycle::stop))
        .route("/containers/{id}/restart", post(lifecycle::restart))
        .route("/containers/{id}/kill", post(lifecycle::kill))
        .route("/containers/{id}/pause", post(lifecycle::pause))
        .route("/containers/{id}/unpause", post(lifecycle::unpause))
        .route("/containers/{id}/wait", post(lifecycle::wait))
        .route("/containers/{id}/resize", post(lifecycle::resize))
        .route("/containers/{id}/attach", post(attach::attach))
        .route("/containers/{id}/exec", post(exec::create))
        .route(
            "/containers/{id}/archive",
            get(archive::get).head(archive::stat).put(archive::put),
        )
        .route("/containers/{id}/export", get(archive::export))
        .route("/containers/{id}/changes", get(archive::changes))
        .route("/containers/{id}/stats", get(stats::stats))
        .route("/containers/{id}/update", post(containers::update))
        .route("/containers/prune", post(containers::prune))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route("/networks/{id}", get(networks::inspect).delete(networks::remove))
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/prune", post(images::prune))
        .route("/images/get", get(images::save_many))
        .route("/images/load", post(images::load))
        .route("/images/search", get(registry::search))
        .route(
            "/images/{*rest}",
            get(image_get).post(image_post).delete(image_delete),
        )
        .fallback(|| async { Error::not_found("page not found") })
        .with_state(daemon)
}

/// Image names contain slashes, so `/images/<name>/<verb>` is split here rather than by the router.
fn split_image_path<'a>(rest: &'a str, verbs: &[&str]) -> Option<(&'a str, &'a str)> {
    let (name, verb) = rest.rsplit_once('/')?;
    (verbs.contains(&verb) && !name.is_empty()).then_some((name, verb))
}

async fn image_get(state: State<Shared>, Path(rest): Path<String>) -> Result<Response> {
    match split_image_path(&rest, &["json", "history", "get"]) {
        Some((name, "json")) => Ok(images::inspect(state, Path(name.to_string()))
            .await?
            .into_response()),
        Some((name, "history")) => Ok(images::history(state, Path(name.to_string()))
            .await?
            .into_response()),
        Some((name, "get")) => images::save(state, vec![name.to_string()]).await,
        _ => Err(Error::not_found("page not found")),
    }
}

async fn image_post(
    state: State<Shared>,
    Path(rest): Path<String>,
    q: RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    match split_image_path(&rest, &["tag", "push"]) {
        Some((name, "tag")) => images::tag(state, Path(name.to_string()), q).await,
        Some((name, "push")) => {
            let p = Params::parse(q.0.as_deref())?;
            transfer::push(state.0, name, p, &headers).await
        }
        _ => Err(Error::not_found("page not found")),
    }
}

async fn image_delete(state: State<Shared>, Path(name): Path<String>, q: RawQuery) -> Result<Response> {
    Ok(images::remove(state, Path(name), q).await?.into_response())
}

/// The whole service: version prefix handling around the routes.
#[derive(Clone)]
pub struct Api {
    routes: Router,
    daemon: Shared,
}

impl Api {
    pub fn new(daemon: Shared) -> Api {
        Api {
            routes: routes(daemon.clone()),
            daemon,
        }
    }

    /// Answers one request.
    pub async fn handle(self, mut req: Request) -> Response {
        self.daemon
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let mut response = match split_prefix(&path) {
            Prefix::Unsupported(message) => Error::bad_request(message).into_response(),
            prefix => {
                if let Prefix::Supported { rest, .. } = prefix {
                    let rewritten = match req.uri().query() {
                        Some(q) => format!("{rest}?{q}"),
                        None => rest.to_string(),
                    };
                    if let Ok(uri) = rewritten.parse::<Uri>() {
                        *req.uri_mut() = uri;
                    }
                }
                match self.routes.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                }
            }
        };
        let h = response.headers_mut();
        h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
        h.insert("Ostype", HeaderValue::from_static("linux"));
        h.insert("Docker-Experimental", HeaderValue::from_static("false"));
        h.insert("Builder-Version", HeaderValue::from_static("1"));
        h.insert(
            "Server",
            HeaderValue::from_static(concat!("Berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
        );
        if method != Method::HEAD || path != "/_ping" {
            tracing::debug!(%method, path, status = response.status().as_u16(), "request");
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_split_on_the_last_slash() {
        assert_eq!(
            split_image_path("busybox/json", &["json"]),
            Some(("busybox", "json"))
        );
        assert_eq!(
            split_image_path("localhost:5000/a/b:1/json", &["json"]),
            Some(("localhost:5000/a/b:1", "json"))
        );
        assert_eq!(split_image_path("busybox", &["json"]), None);
        assert_eq!(split_image_path("/json", &["json"]), None);
        assert_eq!(split_image_path("a/tag", &["json"]), None);
    }
}
