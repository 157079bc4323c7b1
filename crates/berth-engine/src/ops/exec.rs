//! `exec`: run another process in a running container — its namespaces, cgroup, capabilities, seccomp filter and
//! no-new-privileges — as the container's spec says, with the user's overrides (command, env, user, workdir, tty).

use berth_runtime::{ProcessIo, Spawned};
use oci_spec::runtime::{Process, Spec, User};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::{Container, Status};
use crate::spec::security::host_bounding_caps;
use crate::spec::set_env;
use crate::user;

/// What to run (Docker's exec config).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub tty: bool,
    pub privileged: bool,
}

impl Engine {
    /// Starts `req` in container `reference` with the given stdio (pipes, or a terminal whose master comes back in
    /// `Spawned::console`); the caller (single-threaded) waits for it.
    pub fn exec(&self, reference: &str, req: &ExecRequest, io: ProcessIo) -> Result<Spawned> {
        let c = self.exec_target(reference, req)?;
        let id = &c.id;
        let spec_path = self.opts.paths.runtime_dir(id).join("config.json");
        let bytes = std::fs::read(&spec_path).map_err(|e| Error::io("read container spec", e))?;
        let spec: Spec = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: spec_path.display().to_string(),
            message: e.to_string(),
        })?;
        let process = self.exec_process(&spec, c.state.pid, req)?;
        let seccomp_cache = self.opts.paths.seccomp_cache();
        berth_runtime::exec(berth_runtime::ExecRequest {
            container_pid: c.state.pid,
            spec: &spec,
            process: &process,
            io,
            seccomp_cache: &seccomp_cache,
        })
        .map_err(|e| match e.exit_code() {
            127 => Error::CommandNotFound(e.to_string()),
            126 => Error::CannotInvoke(e.to_string()),
            _ => Error::Runtime(e.to_string()),
        })
    }

    /// Checks that `req` can run in container `reference` (a command is given, the container runs and is not
    /// paused); returns the container.
    pub(crate) fn exec_target(&self, reference: &str, req: &ExecRequest) -> Result<Container> {
        if req.cmd.is_empty() {
            return Err(Error::InvalidArgument("No exec command specified".into()));
        }
        let id = self.containers.resolve(reference)?;
        let c = self.reconcile(self.containers.load(&id)?)?;
        match c.state.status {
            Status::Running => Ok(c),
            Status::Paused => Err(Error::Conflict(format!(
                "Container {id} is paused, unpause the container before exec"
            ))),
            _ => Err(Error::Conflict(format!("Container {id} is not running"))),
        }
    }

    fn exec_process(&self, spec: &Spec, pid: i32, req: &ExecRequest) -> Result<Process> {
        let mut process = spec.process().clone().unwrap_or_default();
        process.set_args(Some(req.cmd.clone()));
        process.set_terminal(Some(req.tty));
        let mut env = process.env().clone().unwrap_or_default();
        if req.tty {
            set_env(&mut env, "TERM=xterm");
        }
        if let Some(spec_user) = req.user.as_deref().filter(|u| !u.is_empty()) {
            let root = format!("/proc/{pid}/root");
            let read = |p: &str| std::fs::read_to_string(format!("{root}{p}")).ok();
            let u = user::resolve(
                spec_user,
                read("/etc/passwd").as_deref(),
                read("/etc/group").as_deref(),
                &[],
            )?;
            let mut oci_user = User::default();
            oci_user.set_uid(u.uid);
            oci_user.set_gid(u.gid);
            oci_user.set_additional_gids(Some(u.additional_gids));
            process.set_user(oci_user);
            set_env(&mut env, &format!("HOME={}", u.home));
        }
        for var in &req.env {
            set_env(&mut env, var);
        }
        process.set_env(Some(env));
        if let Some(dir) = req.working_dir.as_deref().filter(|d| !d.is_empty()) {
            process.set_cwd(dir.into());
        }
        if req.privileged {
            let caps: oci_spec::runtime::Capabilities = host_bounding_caps()
                .iter()
                .filter_map(|c| c.strip_prefix("CAP_").and_then(|n| n.parse().ok()))
                .collect();
            let mut set = oci_spec::runtime::LinuxCapabilities::default();
            set.set_bounding(Some(caps.clone()));
            set.set_effective(Some(caps.clone()));
            set.set_permitted(Some(caps));
            process.set_capabilities(Some(set));
        }
        Ok(process)
    }
}
