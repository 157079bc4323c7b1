//! Exec endpoints: create an exec instance (`POST /containers/{id}/exec`), start it on a hijacked connection or
//! detached (`POST /exec/{id}/start`), resize its terminal, inspect it (`GET /exec/{id}/json`, where clients read
//! the exit code). The process runs under an exec helper (see `berth_engine::Engine::spawn_exec`), reached through
//! the same frame protocol as a container's shim, so the attach relay serves it unchanged.

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::attach::{self, Kind};
use berth_engine::{ExecRequest, ExecSessionOptions};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::attach::{RelayOpts, frame, parse_detach_keys, relay, upgrade_response, wants_upgrade};
use super::lifecycle::size_params;
use super::params::{Params, json_body, parse_json};
use super::{Daemon, Shared, blocking};
use crate::error::{Error, Result};
use crate::events::Event;

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub tty: bool,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub privileged: bool,
    pub user: String,
    pub working_dir: String,
    pub console_size: Option<[u16; 2]>,
}

/// The body of `POST /exec/{id}/start`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartConfig {
    detach: bool,
    console_size: Option<[u16; 2]>,
}

/// Where an exec instance is in its life.
#[derive(Debug, Default)]
struct Progress {
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i32>,
    /// A handle on the helper's socket, for resizes.
    control: Option<UnixStream>,
}

/// An exec instance.
pub(crate) struct Instance {
    id: String,
    container_id: String,
    container_name: String,
    image: String,
    config: ExecConfig,
    progress: Mutex<Progress>,
}

impl Instance {
    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn command_line(&self) -> String {
        self.config.cmd.join(" ")
    }

    fn event(&self, d: &Daemon, action: &str, extra: &[(&str, String)]) {
        let mut attrs = BTreeMap::from([
            ("name".to_string(), self.container_name.clone()),
            ("image".to_string(), self.image.clone()),
            ("execID".to_string(), self.id.clone()),
        ]);
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        d.events
            .publish(Event::new("container", action, &self.container_id, attrs));
    }

    /// Records the exit (before the client sees the end of its stream).
    fn exited(&self, d: &Daemon, code: i32) {
        {
            let mut p = self.progress();
            p.running = false;
            p.exit_code = Some(code);
            p.control = None;
        }
        self.event(d, "exec_die", &[("exitCode", code.to_string())]);
    }
}

/// The daemon's exec instances.
#[derive(Default)]
pub(crate) struct Execs(Mutex<BTreeMap<String, Arc<Instance>>>);

impl Execs {
    fn get(&self, id: &str) -> Result<Arc<Instance>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))
    }

    /// Forgets the instances of a removed container.
    pub(crate) fn forget_container(&self, container_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, i| i.container_id != container_id);
    }
}

/// `POST /containers/{id}/exec`: 201 `{"Id"}`.
pub async fn create(State(d): State<Shared>, Path(id): Path<String>, body: Body) -> Result<Response> {
    let config: ExecConfig = json_body(body).await?;
    if config.cmd.is_empty() {
        return Err(Error::bad_request("No exec command specified"));
    }
    parse_detach_keys(&config.detach_keys)?;
    blocking(&d, move |d| {
        let c = d.engine.inspect(&id)?;
        if c.state.paused {
            return Err(Error::conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if !c.state.running {
            return Err(Error::conflict(format!("Container {} is not running", c.id)));
        }
        let instance = Arc::new(Instance {
            id: berth_engine::ids::new_id(),
            container_id: c.id.clone(),
            container_name: c.bare_name().to_string(),
            image: c.config.image.clone(),
            config,
            progress: Mutex::new(Progress::default()),
        });
        let exec_id = instance.id.clone();
        instance.event(d, &format!("exec_create: {}", instance.command_line()), &[]);
        d.execs
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(exec_id.clone(), instance);
        Ok((StatusCode::CREATED, Json(json!({"Id": exec_id}))).into_response())
    })
    .await
}

/// Starts the instance's process; `Err` carries the message of a process that could not start, which Docker
/// reports inside the stream with exit code 126 (blocking: call from the pool).
fn spawn(
    d: &Daemon,
    inst: &Instance,
    stdin: bool,
    console_size: Option<(u16, u16)>,
) -> Result<UnixStream, String> {
    let cfg = &inst.config;
    let request = ExecRequest {
        cmd: cfg.cmd.clone(),
        env: cfg.env.clone(),
        user: Some(cfg.user.clone()).filter(|u| !u.is_empty()),
        working_dir: Some(cfg.working_dir.clone()).filter(|w| !w.is_empty()),
        tty: cfg.tty,
        privileged: cfg.privileged,
    };
    let opts = ExecSessionOptions {
        stdin,
        console_size,
        program: None,
    };
    match d.engine.spawn_exec(&inst.container_id, &request, opts) {
        Ok(session) => {
            {
                let mut p = inst.progress();
                p.running = true;
                p.pid = session.pid;
                p.control = session.stream.try_clone().ok();
            }
            inst.event(d, &format!("exec_start: {}", inst.command_line()), &[]);
            Ok(session.stream)
        }
        Err(e) => {
            inst.exited(d, 126);
            Err(format!("OCI runtime exec failed: exec failed: {e}: unknown"))
        }
    }
}

/// `POST /exec/{id}/start`: hijacked (101) unless `Detach`, then 200 once the process runs. With a hijacked
/// connection the process starts only once the connection is switched, so none of its output can be caught in the
/// client's buffer of the response head.
pub async fn start(State(d): State<Shared>, Path(id): Path<String>, mut req: Request) -> Result<Response> {
    let upgrade = wants_upgrade(&req);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let bytes = axum::body::to_bytes(req.into_body(), super::params::MAX_JSON_BODY)
        .await
        .map_err(|e| Error::bad_request(format!("request body too large or unreadable: {e}")))?;
    let start: StartConfig = parse_json(&bytes)?;
    let instance = d.execs.get(&id)?;
    if !start.detach && !upgrade {
        return Err(Error::bad_request(
            "exec start needs an upgraded connection (Upgrade: tcp) or Detach",
        ));
    }
    let container = instance.container_id.clone();
    blocking(&d, move |d| {
        let c = d.engine.inspect(&container)?;
        if !c.state.running || c.state.paused {
            return Err(Error::conflict(format!("Container {} is not running", c.id)));
        }
        Ok(())
    })
    .await?;
    {
        let mut p = instance.progress();
        if p.started {
            return Err(Error::conflict(format!("Exec command {id} is already running")));
        }
        p.started = true;
    }
    let cfg = &instance.config;
    let tty = cfg.tty;
    let stdin = cfg.attach_stdin && !start.detach;
    let console_size = start
        .console_size
        .or(cfg.console_size)
        .map(|[h, w]| (h, w))
        .filter(|&(h, w)| h > 0 && w > 0);
    let detach_keys = parse_detach_keys(&cfg.detach_keys)?;
    let d2 = d.clone();
    let inst = instance.clone();
    let on_exit = move |code: i32| inst.exited(&d2, code);
    if start.detach {
        let inst = instance.clone();
        let stream = blocking(&d, move |d| {
            spawn(d, &inst, false, console_size).map_err(Error::internal)
        })
        .await?;
        // Nobody reads the output; the stream is still read to learn the exit code.
        let opts = RelayOpts {
            tty,
            stdin: false,
            detach_keys,
        };
        tokio::spawn(relay(
            tokio::io::join(tokio::io::empty(), tokio::io::sink()),
            stream,
            opts,
            on_exit,
        ));
        return Ok(StatusCode::OK.into_response());
    }
    let inst = instance.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let started = blocking(&d, move |d| Ok(spawn(d, &inst, stdin, console_size))).await;
        match started {
            Ok(Ok(stream)) => {
                relay(
                    io,
                    stream,
                    RelayOpts {
                        tty,
                        stdin,
                        detach_keys,
                    },
                    on_exit,
                )
                .await
            }
            Ok(Err(message)) => {
                let line = format!("{message}\r\n");
                let out = if tty {
                    line.into_bytes()
                } else {
                    frame(Kind::Stdout, line.as_bytes())
                };
                let _ = io.write_all(&out).await;
                let _ = io.shutdown().await;
            }
            Err(_) => {
                let _ = io.shutdown().await;
            }
        }
    });
    upgrade_response()
}

/// `POST /exec/{id}/resize?h=&w=`.
pub async fn resize(
    State(d): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let (rows, cols) = size_params(&Params::parse(q.as_deref())?)?;
    let instance = d.execs.get(&id)?;
    let p = instance.progress();
    let Some(control) = &p.control else {
        return Err(Error::conflict(format!("Exec {id} is not running")));
    };
    let mut control = control;
    attach::write_frame(&mut control, Kind::Resize, &attach::resize_payload(rows, cols))
        .map_err(|e| Error::internal(format!("resize exec terminal: {e}")))?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /exec/{id}/json`.
pub async fn inspect(State(d): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>> {
    let i = d.execs.get(&id)?;
    let p = i.progress();
    let c = &i.config;
    Ok(Json(json!({
        "ID": i.id,
        "Running": p.running,
        "ExitCode": p.exit_code,
        "ProcessConfig": {
            "tty": c.tty,
            "entrypoint": c.cmd.first(),
            "arguments": c.cmd.get(1..).unwrap_or_default(),
            "privileged": c.privileged,
            "user": c.user,
        },
        "OpenStdin": c.attach_stdin,
        "OpenStderr": c.attach_stderr,
        "OpenStdout": c.attach_stdout,
        "CanRemove": false,
        "ContainerID": i.container_id,
        "DetachKeys": c.detach_keys,
        "Pid": p.pid,
    })))
}
