//! `start`: resolve the user in the container's own passwd/group, build the OCI spec, write the runtime files
//! (spec, hostname, hosts, resolv.conf) and hand the container to a new shim. Concurrent starts of one container are
//! serialised by a lock on its runtime directory.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};

use berth_image::RwLayer;
use rustix::fs::{FlockOperation, flock};

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{Durability, write_atomic};
use crate::model::{Container, Status};
use crate::network;
use crate::shim::{self, Launch};
use crate::spec::{self, SpecInput};
use crate::user;

/// How to start.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// Connected client sockets (attach clients, an exit monitor) handed to the shim as its first clients, each
    /// having written its hello, so none misses the container's first output or its exit.
    pub attach: Vec<OwnedFd>,
}

impl Engine {
    /// Starts container `reference`; returns its pid, or `None` when it was running already (a start that raced
    /// another one): then nothing is done, as in Docker, and the clients in `opts` are dropped.
    pub fn start(&self, reference: &str, opts: StartOptions) -> Result<Option<i32>> {
        let id = self.containers.resolve(reference)?;
        let runtime_dir = self.opts.paths.runtime_dir(&id);
        fs::create_dir_all(&runtime_dir).ctx(|| format!("create {}", runtime_dir.display()))?;
        let dir = fs::File::open(&runtime_dir).ctx(|| format!("open {}", runtime_dir.display()))?;
        flock(dir.as_fd(), FlockOperation::LockExclusive)
            .map_err(|e| Error::io("lock runtime dir", e.into()))?;

        let c = self.containers.load(&id)?;
        match c.state.status {
            Status::Running if self.is_alive(&c) => return Ok(None),
            Status::Paused => {
                return Err(Error::Conflict(
                    "cannot start a paused container, try unpause instead".into(),
                ));
            }
            Status::Removing | Status::Dead => {
                return Err(Error::Conflict(
                    "container is marked for removal and cannot be started".to_string(),
                ));
            }
            _ => {}
        }
        let rw = self.images.rw_layer(&id)?;
        let plan = self.network_plan(&c)?;
        let launched = self.prepare(&c, &rw, &plan).and_then(|launch| {
            let settings = plan.settings.clone();
            self.containers.update(&id, |c| {
                c.network_settings = settings;
                Ok(())
            })?;
            shim::launch::start(&self.opts.paths, &id, &launch, opts.attach)
        });
        if launched.is_err() {
            // The shim releases the network of a container it started (or failed to); one that never got that far
            // is released here (releasing twice is harmless).
            network::teardown::release(&self.opts.paths, &self.networks, &id, &plan.settings);
            let _ = self.containers.update(&id, |c| {
                network::teardown::clear_settings(&mut c.network_settings);
                Ok(())
            });
        }
        launched.map(Some)
    }

    /// Writes the spec and the container's /etc files into its runtime directory; returns the shim's launch plan.
    fn prepare(&self, c: &Container, rw: &RwLayer, plan: &network::setup::Plan) -> Result<Launch> {
        let runtime_dir = self.opts.paths.runtime_dir(&c.id);
        let read = |path: &str| -> Result<Option<String>> {
            Ok(berth_image::read_file(rw, path)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
        };
        let user = user::resolve(
            &c.config.user,
            read("/etc/passwd")?.as_deref(),
            read("/etc/group")?.as_deref(),
            c.host_config.group_add.as_deref().unwrap_or(&[]),
        )?;
        let (root, launch_layers) = match rw {
            RwLayer::Overlay {
                lower,
                upper,
                work,
                merged,
            } => (
                merged.clone(),
                (lower.clone(), Some(upper.clone()), Some(work.clone())),
            ),
            RwLayer::Dir { path } => (path.clone(), (Vec::new(), None, None)),
        };
        let built = spec::build(&SpecInput {
            container: c,
            root: &root,
            user: &user,
            files_dir: &runtime_dir,
            cgroup_parent: &self.opts.cgroup_parent,
            netns: plan.netns.as_deref(),
        })?;
        let hostname = spec::hostname(c);
        let files = [
            ("hostname", format!("{hostname}\n")),
            ("hosts", plan.hosts.clone()),
            ("resolv.conf", plan.resolv.clone()),
        ];
        for (name, content) in files {
            write_atomic(&runtime_dir.join(name), content.as_bytes(), Durability::Volatile)
                .ctx(|| format!("write {name}"))?;
        }
        if let Some(dns) = &plan.dns {
            let list = runtime_dir.join(shim::dns::TABLES_FILE);
            shim::dns::write_list(&list, &dns.tables).ctx(|| "write the DNS tables list".to_string())?;
        }
        let spec_bytes = serde_json::to_vec(&built.spec).map_err(|e| Error::Runtime(e.to_string()))?;
        write_atomic(
            &runtime_dir.join("config.json"),
            &spec_bytes,
            Durability::Volatile,
        )
        .ctx(|| "write container spec".to_string())?;
        let (lower, upper, work) = launch_layers;
        Ok(Launch {
            lower,
            upper,
            work,
            init: c.host_config.init.unwrap_or(false),
            tty: c.config.tty,
            open_stdin: c.config.open_stdin,
            console_size: c.host_config.console_size.map(|[rows, cols]| (rows, cols)),
            auto_remove: c.host_config.auto_remove,
            dns: plan.dns.clone(),
        })
    }

    /// Whether the recorded shim of a running container is still there (a shim killed with -9 leaves a record that
    /// says running).
    pub(crate) fn is_alive(&self, c: &Container) -> bool {
        c.state.pid > 0
            && rustix::process::test_kill_process(
                rustix::process::Pid::from_raw(c.state.pid).unwrap_or(rustix::process::Pid::INIT),
            )
            .is_ok()
    }
}
