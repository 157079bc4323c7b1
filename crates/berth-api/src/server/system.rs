//! System endpoints: `/_ping`, `/version`, `/info` and the `/events` stream.

use std::io::Write;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_engine::model::Status;
use serde_json::{Value, json};

use super::params::Params;
use super::{Shared, blocking};
use crate::error::{Error, Result};
use crate::events::{EventFilter, parse_time};
use crate::version::{API_VERSION, MIN_API_VERSION};

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET|HEAD /_ping`: "OK", with the headers clients negotiate from.
pub async fn ping() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
            (header::PRAGMA, "no-cache"),
        ],
        "OK",
    )
        .into_response()
}

fn uname() -> rustix::system::Uname {
    rustix::system::uname()
}

/// `GET /version`.
pub async fn version() -> Json<Value> {
    let u = uname();
    let kernel = u.release().to_string_lossy().into_owned();
    let arch = go_arch();
    Json(json!({
        "Platform": {"Name": "Berth"},
        "Components": [{
            "Name": "Engine",
            "Version": VERSION,
            "Details": {
                "ApiVersion": API_VERSION,
                "Arch": arch,
                "GitCommit": "",
                "GoVersion": "",
                "KernelVersion": kernel,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
            }
        }],
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    }))
}

/// The machine architecture in Go's names, as Docker reports it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// `GET /info`.
pub async fn info(State(d): State<Shared>) -> Result<Json<Value>> {
    blocking(&d, |d| {
        let containers = d.engine.list(true)?;
        let count = |s: Status| containers.iter().filter(|c| c.state.status == s).count();
        let images = d.engine.images().list()?.len();
        let u = uname();
        let hostname = u.nodename().to_string_lossy().into_owned();
        let (cgroup_version, cgroup_driver) = match berth_runtime::cgroups::Hierarchy::detect() {
            Ok(h) if h.is_v2() => ("2", "cgroupfs"),
            _ => ("1", "cgroupfs"),
        };
        let mem_total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0)
            * 1024;
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| "Linux".into());
        let driver = d.engine.images().driver();
        Ok(Json(json!({
            "ID": "",
            "Containers": containers.len(),
            "ContainersRunning": count(Status::Running),
            "ContainersPaused": count(Status::Paused),
            "ContainersStopped": containers.len() - count(Status::Running) - count(Status::Paused),
            "Images": images,
            "Driver": driver.name(),
            "DriverStatus": [["Backing Filesystem", "extfs"]],
            "Plugins": {"Volume": [], "Network": ["null"], "Authorization": null, "Log": ["json-file"]},
            "MemoryLimit": true,
            "SwapLimit": true,
            "KernelMemory": false,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": true,
            "CPUSet": true,
            "PidsLimit": true,
            "OomKillDisable": true,
            "IPv4Forwarding": true,
            "BridgeNfIptables": false,
            "BridgeNfIp6tables": false,
            "Debug": tracing::enabled!(tracing::Level::DEBUG),
            "NFd": std::fs::read_dir("/proc/self/fd").map(|r| r.count()).unwrap_or(0),
            "NGoroutines": 0,
            "SystemTime": berth_engine::timefmt::now(),
            "LoggingDriver": "json-file",
            "CgroupDriver": cgroup_driver,
            "CgroupVersion": cgroup_version,
            "NEventsListener": 0,
            "KernelVersion": u.release().to_string_lossy(),
            "OperatingSystem": os,
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": std::env::consts::ARCH,
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []},
            "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "MemTotal": mem_total,
            "DockerRootDir": d.engine.paths().data_root.display().to_string(),
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Name": hostname,
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": VERSION,
            "Runtimes": {"berth": {"path": "berth"}},
            "DefaultRuntime": "berth",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
                      "Error": "", "RemoteManagers": null},
            "LiveRestoreEnabled": true,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": {"ID": "", "Expected": ""},
            "RuncCommit": {"ID": "", "Expected": ""},
            "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": ["name=seccomp,profile=default"],
            "Warnings": [],
        })))
    })
    .await
}

/// `GET /events?since=&until=&filters=`: past events from `since`, then live ones until `until` (or forever),
/// one JSON object per line.
pub async fn events(State(d): State<Shared>, RawQuery(q): RawQuery) -> Result<Response> {
    let p = Params::parse(q.as_deref())?;
    let filter = EventFilter::new(p.filters()?).map_err(Error::bad_request)?;
    let time = |k: &str| -> Result<Option<i64>> {
        p.get(k)
            .filter(|v| !v.is_empty())
            .map(parse_time)
            .transpose()
            .map_err(Error::bad_request)
    };
    let (since, until) = (time("since")?, time("until")?);
    let now = berth_engine::timefmt::unix_nanos() as i64;
    // Docker replays history only when asked for `since` (or `until`, which implies it).
    let (past, mut live) = d.events.subscribe(since.or(until.map(|_| 0)));
    let within = move |t: i64| until.is_none_or(|u| t <= u);
    let past: Vec<_> = past
        .into_iter()
        .filter(|e| within(e.time_nano) && filter.matches(e))
        .collect();
    let stream = async_stream(past, move |tx| async move {
        if until.is_some_and(|u| u <= now) {
            return;
        }
        let deadline = until
            .map(|u| tokio::time::Instant::now() + std::time::Duration::from_nanos((u - now).max(0) as u64));
        loop {
            let next = async {
                match deadline {
                    Some(dl) => tokio::time::timeout_at(dl, live.recv()).await.ok(),
                    None => Some(live.recv().await),
                }
            };
            match next.await {
                None => return,
                Some(Ok(e)) => {
                    if filter.matches(&e) && tx.send(line(&e)).await.is_err() {
                        return;
                    }
                }
                Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                Some(Err(_)) => return,
            }
        }
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        stream,
    )
        .into_response())
}

fn line(e: &crate::events::Event) -> bytes::Bytes {
    let mut out = serde_json::to_vec(e).unwrap_or_default();
    let _ = out.write_all(b"\n");
    bytes::Bytes::from(out)
}

/// A streamed body: `past` events first, then what `produce` sends, ending when it returns.
fn async_stream<F, Fut>(past: Vec<crate::events::Event>, produce: F) -> Body
where
    F: FnOnce(tokio::sync::mpsc::Sender<bytes::Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(64);
    let first: Vec<bytes::Bytes> = past.iter().map(line).collect();
    tokio::spawn(produce(tx));
    let head = futures_util::stream::iter(first.into_iter().map(Ok::<_, std::io::Error>));
    let tail = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) });
    Body::from_stream(futures_util::StreamExt::chain(head, tail))
}
