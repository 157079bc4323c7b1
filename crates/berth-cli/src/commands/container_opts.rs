//! The flags `create` and `run` share, and their translation into an Engine API create request (the networking
//! flags are [`NetworkOpts`]).

use std::collections::BTreeMap;

use berth_engine::CreateRequest;
use berth_engine::model::{BindOptions, HostConfig, Mount, TmpfsOptions, Ulimit};
use berth_image::config::ContainerConfig;
use clap::Args;

use super::network_opts::NetworkOpts;
use crate::error::Failure;
use crate::opts;

/// Container configuration flags.
#[derive(Debug, Args, Clone, Default)]
pub struct ContainerOpts {
    /// Print help (`-h` is --hostname, as in Docker)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set meta data on a container
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long)]
    pub label_file: Vec<String>,
    /// Bind mount a volume
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Security Options
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Ulimit options
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Add additional groups to join
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long)]
    pub stop_timeout: Option<i32>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    #[command(flatten)]
    pub net: NetworkOpts,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
}

fn bad_flag(value: &str, flag: &str, why: impl std::fmt::Display) -> Failure {
    Failure::engine(format!("invalid argument \"{value}\" for \"{flag}\" flag: {why}"))
}

fn bytes(value: &Option<String>, flag: &str) -> Result<i64, Failure> {
    match value {
        None => Ok(0),
        Some(v) => opts::parse_bytes(v).map_err(|e| bad_flag(v, flag, e)),
    }
}

impl ContainerOpts {
    /// Builds the create request for `image` running `command`.
    pub fn to_request(&self, image: &str, command: &[String]) -> Result<CreateRequest, Failure> {
        if let Some(p) = &self.platform
            && p != "linux/amd64"
            && p != "linux"
        {
            return Err(Failure::engine(format!(
                "image platform {p} is not supported on this host (linux/amd64)"
            )));
        }
        if let Some(r) = &self.restart {
            let policy = opts::parse_restart(r).map_err(|e| bad_flag(r, "--restart", e))?;
            if policy.name != opts::RestartPolicyName::No {
                return Err(Failure::engine(format!(
                    "restart policy {}:{} is not supported yet (only \"no\")",
                    policy.name.as_str(),
                    policy.max_retries
                )));
            }
        }
        let mut env = Vec::new();
        for file in &self.env_file {
            env.extend(opts::parse_env_file(std::path::Path::new(file)).map_err(engine_err)?);
        }
        for e in &self.env {
            env.push(opts::parse_env(e).map_err(engine_err)?);
        }
        let mut labels = BTreeMap::new();
        let mut label_args = Vec::new();
        for f in &self.label_file {
            label_args.extend(opts::parse_label_file(std::path::Path::new(f)).map_err(engine_err)?);
        }
        label_args.extend(self.label.iter().cloned());
        for l in &label_args {
            let (k, v) = opts::parse_label(l).map_err(engine_err)?;
            labels.insert(k, v);
        }
        let mut ulimits = Vec::new();
        for u in &self.ulimit {
            let parsed = opts::parse_ulimit(u).map_err(|e| bad_flag(u, "--ulimit", e))?;
            ulimits.push(Ulimit {
                name: parsed.name,
                soft: parsed.soft,
                hard: parsed.hard,
            });
        }
        // Like Docker's CLI, resolve relative bind sources here; the engine validates the rest.
        let mut binds = Vec::new();
        for v in &self.volume {
            let spec = opts::parse_volume(v).map_err(|e| bad_flag(v, "-v, --volume", e))?;
            binds.push(match spec.kind {
                opts::MountKind::Bind if spec.mode.is_empty() => format!("{}:{}", spec.source, spec.target),
                opts::MountKind::Bind => format!("{}:{}:{}", spec.source, spec.target, spec.mode),
                _ => v.clone(),
            });
        }
        let mut mounts = Vec::new();
        for m in &self.mount {
            mounts.push(opts::parse_mount(m).map_err(|e| bad_flag(m, "--mount", e))?);
        }
        let mut tmpfs = BTreeMap::new();
        for t in &self.tmpfs {
            let (target, options) = opts::parse_tmpfs(t).map_err(|e| bad_flag(t, "--tmpfs", e))?;
            tmpfs.insert(target, options);
        }
        if let Some(u) = &self.user {
            opts::parse_user(u).map_err(engine_err)?;
        }
        let nano_cpus = match &self.cpus {
            Some(c) => opts::parse_cpus(c).map_err(|e| bad_flag(c, "--cpus", e))?,
            None => 0,
        };
        let memory_swap = match &self.memory_swap {
            Some(v) => opts::parse_memory_swap(v).map_err(|e| bad_flag(v, "--memory-swap", e))?,
            None => 0,
        };
        let mut security_opt = Vec::new();
        for s in &self.security_opt {
            security_opt.push(load_seccomp_file(s)?);
        }
        let config = ContainerConfig {
            image: image.to_string(),
            cmd: (!command.is_empty()).then(|| command.to_vec()),
            entrypoint: self
                .entrypoint
                .as_ref()
                .map(|e| if e.is_empty() { Vec::new() } else { vec![e.clone()] }),
            env: (!env.is_empty()).then_some(env),
            user: self.user.clone().unwrap_or_default(),
            working_dir: self.workdir.clone().unwrap_or_default(),
            hostname: self.hostname.clone().unwrap_or_default(),
            labels: (!labels.is_empty()).then_some(labels),
            tty: self.tty,
            open_stdin: self.interactive,
            stdin_once: self.interactive,
            attach_stdin: self.interactive,
            attach_stdout: true,
            attach_stderr: true,
            stop_signal: self.stop_signal.clone().unwrap_or_default(),
            stop_timeout: self.stop_timeout.map(i64::from),
            ..Default::default()
        };
        let host_config = HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            mounts: (!mounts.is_empty()).then_some(mounts.into_iter().map(to_mount).collect()),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            auto_remove: self.rm,
            privileged: self.privileged,
            readonly_rootfs: self.read_only,
            cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
            cap_drop: (!self.cap_drop.is_empty()).then(|| self.cap_drop.clone()),
            security_opt: (!security_opt.is_empty()).then_some(security_opt),
            ulimits: (!ulimits.is_empty()).then_some(ulimits),
            memory: bytes(&self.memory, "-m, --memory")?,
            memory_swap,
            memory_reservation: bytes(&self.memory_reservation, "--memory-reservation")?,
            nano_cpus,
            cpu_shares: self.cpu_shares.unwrap_or(0),
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            pids_limit: self.pids_limit,
            shm_size: bytes(&self.shm_size, "--shm-size")?,
            init: self.init.then_some(true),
            group_add: (!self.group_add.is_empty()).then(|| self.group_add.clone()),
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            // The tty starts at the terminal's size, as with the docker CLI (no resize race after start).
            console_size: self
                .tty
                .then(crate::terminal::size)
                .flatten()
                .map(|(rows, cols)| [rows, cols]),
            ..Default::default()
        };
        let mut req = CreateRequest {
            name: self.name.clone(),
            config,
            host_config,
            networking_config: Default::default(),
        };
        self.net.apply(&mut req)?;
        Ok(req)
    }
}

fn engine_err(e: opts::Error) -> Failure {
    Failure::engine(e.to_string())
}

/// A parsed `--mount` in the Engine API's shape.
fn to_mount(m: opts::MountSpec) -> Mount {
    let bind_options = m.propagation.map(|p| BindOptions {
        propagation: p.as_str().to_string(),
    });
    let tmpfs_options = (m.kind == opts::MountKind::Tmpfs).then(|| TmpfsOptions {
        size_bytes: m.tmpfs_size.unwrap_or(0),
        mode: m.tmpfs_mode.unwrap_or(0),
    });
    Mount {
        kind: m.kind.as_str().to_string(),
        source: m.source,
        target: m.target,
        read_only: m.read_only,
        bind_options,
        tmpfs_options,
    }
}

/// Docker's CLI reads a `seccomp=FILE` profile itself and sends its content; so does this one.
fn load_seccomp_file(opt: &str) -> Result<String, Failure> {
    match opt.split_once(['=', ':']) {
        Some(("seccomp", path)) if path != "unconfined" && !path.trim_start().starts_with('{') => {
            let content = std::fs::read_to_string(path)
                .map_err(|e| Failure::engine(format!("opening seccomp profile ({path}) failed: {e}")))?;
            Ok(format!("seccomp={content}"))
        }
        _ => Ok(opt.to_string()),
    }
}
