//! Network endpoints: create, list, inspect, remove and prune user networks, and connect containers to them or
//! disconnect them; each change is published as a `network` event.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::NetworkView;
use berth_engine::model::EndpointSettings;
use berth_network::store::CreateRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::network_filter::{ListFilter, PruneFilter};
use super::params::{Params, json_body};
use super::{Shared, blocking};
use crate::error::{Error, Result};

fn to_json(v: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(e.to_string()))
}

/// `GET /networks?filters=`: every network, without its containers (API 1.28 and later list none).
pub async fn list(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Json<Vec<Value>>> {
    let filter = ListFilter::new(Params::parse(q.as_deref())?.filters()?)?;
    blocking(&d, move |d| {
        let mut out = Vec::new();
        for view in d.engine.network_list()?.iter().filter(|v| filter.matches(v)) {
            let mut v = to_json(&view.network)?;
            v["Containers"] = json!({});
            out.push(v);
        }
        Ok(Json(out))
    })
    .await
}

/// `GET /networks/{id}`: the network with the containers attached to it.
pub async fn inspect(State(d): State<Shared>, Path(id): Path<String>) -> Result<Json<NetworkView>> {
    blocking(&d, move |d| Ok(Json(d.engine.network_inspect(&id)?))).await
}

/// `POST /networks/create`: 201 `{"Id", "Warning"}`.
pub async fn create(State(d): State<Shared>, body: Body) -> Result<Response> {
    let req: CreateRequest = json_body(body).await?;
    blocking(&d, move |d| {
        let net = d.engine.network_create(req)?;
        d.network_event("create", &net, None);
        Ok((StatusCode::CREATED, Json(json!({"Id": net.id, "Warning": ""}))).into_response())
    })
    .await
}

/// `DELETE /networks/{id}`: 204.
pub async fn remove(State(d): State<Shared>, Path(id): Path<String>) -> Result<Response> {
    blocking(&d, move |d| {
        let view = d.engine.network_inspect(&id)?;
        d.engine.network_remove(&view.network.id)?;
        d.network_event("destroy", &view.network, None);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `POST /networks/prune?filters=`: removes the user networks no container uses; `{"NetworksDeleted": [names]}`.
pub async fn prune(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Json<Value>> {
    let filters = Params::parse(q.as_deref())?.filters()?;
    let filter = PruneFilter::new(filters, super::containers::parse_until)?;
    blocking(&d, move |d| {
        let before = d.engine.network_list()?;
        let deleted = if filter.labels_only() {
            d.engine.network_prune(&filter.labels)?
        } else {
            let mut deleted = Vec::new();
            for v in before.iter().filter(|v| filter.selects(v)) {
                d.engine.network_remove(&v.network.id)?;
                deleted.push(v.network.name.clone());
            }
            deleted
        };
        for v in before.iter().filter(|v| deleted.contains(&v.network.name)) {
            d.network_event("destroy", &v.network, None);
        }
        Ok(Json(json!({
            "NetworksDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) }
        })))
    })
    .await
}

/// The body of `POST /networks/{id}/connect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectRequest {
    container: String,
    endpoint_config: Option<EndpointSettings>,
}

/// The body of `POST /networks/{id}/disconnect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DisconnectRequest {
    container: String,
    force: bool,
}

fn need_container(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::bad_request("no container specified"));
    }
    Ok(())
}

/// `POST /networks/{id}/connect`.
pub async fn connect(State(d): State<Shared>, Path(id): Path<String>, body: Body) -> Result<Response> {
    let req: ConnectRequest = json_body(body).await?;
    need_container(&req.container)?;
    blocking(&d, move |d| {
        let net = d.engine.network_inspect(&id)?.network;
        let c = d.engine.inspect(&req.container)?;
        d.engine
            .network_connect(&net.id, &c.id, req.endpoint_config.unwrap_or_default())?;
        d.network_event("connect", &net, Some(&c.id));
        Ok(StatusCode::OK.into_response())
    })
    .await
}

/// `POST /networks/{id}/disconnect`.
pub async fn disconnect(State(d): State<Shared>, Path(id): Path<String>, body: Body) -> Result<Response> {
    let req: DisconnectRequest = json_body(body).await?;
    need_container(&req.container)?;
    blocking(&d, move |d| {
        let net = d.engine.network_inspect(&id)?.network;
        let c = d.engine.inspect(&req.container)?;
        d.engine.network_disconnect(&net.id, &c.id, req.force)?;
        d.network_event("disconnect", &net, Some(&c.id));
        Ok(StatusCode::OK.into_response())
    })
    .await
}
