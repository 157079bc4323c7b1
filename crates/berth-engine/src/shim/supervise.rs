//! What the shim does from start to end: set up the container's stdio, start it through the runtime, report to the
//! starter, pump I/O until it exits, then record the exit (code, time, OOM kill), release its cgroup, remove it if
//! it was started with `--rm`, and tell attached clients.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use berth_runtime::{RootfsSource, SpawnRequest, Spawned};
use oci_spec::runtime::Spec;

use super::pump::Pump;
use super::stdio::Plumbing;
use super::{Launch, StartStatus, stdio};
use crate::logs::LogWriter;
use crate::model::Status;
use crate::network;
use crate::paths::Paths;
use crate::store::ContainerStore;
use crate::timefmt;

fn report(status: OwnedFd, msg: &StartStatus) {
    if let Ok(bytes) = serde_json::to_vec(msg) {
        let _ = File::from(status).write_all(&bytes);
    }
}

fn load_spec(paths: &Paths, id: &str) -> Result<Spec, String> {
    let path = paths.runtime_dir(id).join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("parse {}: {e}", path.display()))
}

/// A container [`start`] got running: what supervising it needs.
struct Running {
    spawned: Spawned,
    plumbing: Plumbing,
    listener: UnixListener,
    sock_path: PathBuf,
    /// The container's cgroup, released at its exit.
    cgroup_path: Option<PathBuf>,
    /// The embedded DNS server of a container on user networks.
    dns: Option<super::dns::Dns>,
}

/// Supervises container `id` from start to exit; returns the shim's exit code.
pub fn run(paths: &Paths, id: &str, launch: &Launch, status: OwnedFd, clients: Vec<OwnedFd>) -> i32 {
    let store = match ContainerStore::open(paths) {
        Ok(s) => s,
        Err(e) => {
            report(
                status,
                &StartStatus {
                    pid: 0,
                    error: Some((125, e.to_string())),
                },
            );
            return 125;
        }
    };
    let Running {
        spawned,
        plumbing,
        listener,
        sock_path,
        cgroup_path,
        dns,
    } = match start(paths, &store, id, launch) {
        Ok(r) => r,
        Err((code, msg)) => {
            release_network(paths, &store, id);
            let _ = store.update(id, |c| {
                c.state.error = msg.clone();
                c.state.exit_code = code;
                network::teardown::clear_settings(&mut c.network_settings);
                Ok(())
            });
            if launch.auto_remove
                && let Some(r) = crate::ops::remove::retire(paths, &store, id)
            {
                r.delete();
            }
            report(
                status,
                &StartStatus {
                    pid: 0,
                    error: Some((code, msg)),
                },
            );
            return code;
        }
    };
    report(
        status,
        &StartStatus {
            pid: spawned.pid,
            error: None,
        },
    );

    let log = LogWriter::open(&paths.log_path(id)).ok();
    let mut pump = Pump::new(plumbing, Some(listener), clients, log);
    if let Some(dns) = dns {
        pump.serve_dns(dns);
    }
    pump.run(spawned.pidfd.as_fd());

    let (code, oom_killed) = exit_status(&spawned.pidfd, cgroup_path.as_deref());
    let reap = || {
        let _ = rustix::process::waitid(
            rustix::process::WaitId::PidFd(spawned.pidfd.as_fd()),
            rustix::process::WaitIdOptions::EXITED,
        );
    };
    if launch.auto_remove {
        // A --rm container vanishes: take it out of sight (which also retires the record naming its pid, so the
        // pid may then be released), tell the clients, and only then do the slow deletions.
        let settings = store.load(id).map(|c| c.network_settings).ok();
        let retired = crate::ops::remove::retire(paths, &store, id);
        reap();
        // The network goes back before the clients hear of the exit: a `run --rm -p P` that follows must find port
        // P free and its rules gone, as with Docker (only containers with published ports wait for rule removal).
        if let Some(settings) = settings.as_ref().filter(|s| network::teardown::holds_anything(s))
            && let Some(networks) = network_store(paths)
        {
            network::teardown::release(paths, &networks, id, settings);
        }
        pump.finish(code, oom_killed);
        if let Some(r) = retired {
            r.delete();
        }
        return 0;
    }
    // The network goes back before the exit is recorded, so a start that follows finds it free.
    release_network(paths, &store, id);
    let _ = store.update(id, |c| {
        network::teardown::clear_settings(&mut c.network_settings);
        c.state.status = Status::Exited;
        c.state.running = false;
        c.state.paused = false;
        c.state.pid = 0;
        c.state.shim_pid = 0;
        c.state.exit_code = code;
        c.state.oom_killed = oom_killed;
        c.state.finished_at = timefmt::now();
        Ok(())
    });
    // The exit is recorded: now the pid may be released.
    reap();
    let _ = std::fs::remove_file(&sock_path);
    pump.finish(code, oom_killed);
    0
}

/// The network store, for releasing (its default-network options matter only for making the default network,
/// which a release never does).
fn network_store(paths: &Paths) -> Option<berth_network::store::NetworkStore> {
    let config = berth_network::store::StoreConfig::new(Vec::new);
    berth_network::store::NetworkStore::open(&paths.data_root, config).ok()
}

/// Releases the network container `id` was given at start, as its record tells.
fn release_network(paths: &Paths, store: &ContainerStore, id: &str) {
    if let Ok(c) = store.load(id)
        && network::teardown::holds_anything(&c.network_settings)
        && let Some(networks) = network_store(paths)
    {
        network::teardown::release(paths, &networks, id, &c.network_settings);
    }
}

/// Starts the container and records it running; on failure, the exit code and message to report (the container
/// killed if it had started). Out of line, so that its large frame (the spec, the runtime's request) lies below the
/// supervising loop's and its stack pages are released with the rest of the setup's.
#[inline(never)]
fn start(paths: &Paths, store: &ContainerStore, id: &str, launch: &Launch) -> Result<Running, (i32, String)> {
    let spec = load_spec(paths, id).map_err(|e| (125, e))?;
    let dns = match &launch.dns {
        Some(d) => {
            let server = dns_server(d).map_err(|e| (125, format!("start the embedded DNS server: {e}")))?;
            let list = paths.runtime_dir(id).join(super::dns::TABLES_FILE);
            Some(super::dns::Dns::new(server, list))
        }
        None => None,
    };
    let sock_path = paths.attach_socket(id);
    let _ = std::fs::remove_file(&sock_path);
    let listener = crate::attach::listen(&sock_path)
        .map_err(|e| (125, format!("listen on {}: {e}", sock_path.display())))?;
    let (io, pending) = stdio::prepare(launch.tty, launch.open_stdin, launch.console_size)
        .map_err(|e| (125, format!("set up container stdio: {e}")))?;
    let rootfs = match (&launch.upper, &launch.work) {
        (Some(upper), Some(work)) => RootfsSource::Overlay {
            lower: launch.lower.clone(),
            upper: upper.clone(),
            work: work.clone(),
        },
        _ => RootfsSource::Ready,
    };
    let seccomp_cache = paths.seccomp_cache();
    let mut spawned = berth_runtime::spawn(SpawnRequest {
        spec: &spec,
        io,
        rootfs,
        init: launch.init,
        seccomp_cache: &seccomp_cache,
    })
    .map_err(|e| (e.exit_code(), e.to_string()))?;
    let kill = |spawned: &Spawned| {
        let _ = rustix::process::pidfd_send_signal(&spawned.pidfd, rustix::process::Signal::KILL);
    };
    let plumbing = match pending.complete(&mut spawned) {
        Ok(p) => p,
        Err(e) => {
            kill(&spawned);
            return Err((125, format!("set up container terminal: {e}")));
        }
    };
    let shim_pid = std::process::id() as i32;
    let recorded = store.update(id, |c| {
        c.state.status = Status::Running;
        c.state.running = true;
        c.state.paused = false;
        c.state.oom_killed = false;
        c.state.pid = spawned.pid;
        c.state.exit_code = 0;
        c.state.error.clear();
        c.state.started_at = timefmt::now();
        c.state.shim_pid = shim_pid;
        Ok(())
    });
    if let Err(e) = recorded {
        kill(&spawned);
        return Err((125, e.to_string()));
    }
    let cgroup_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    Ok(Running {
        spawned,
        plumbing,
        listener,
        sock_path,
        cgroup_path,
        dns,
    })
}

/// The DNS server's socket on 127.0.0.11:53, with SO_REUSEADDR so that a DNS server of the container's own that
/// binds 0.0.0.0:53 the same way (dnsmasq, CoreDNS) can still start.
fn dns_listener() -> std::io::Result<std::net::UdpSocket> {
    use rustix::net::{AddressFamily, SocketAddrV4, SocketFlags, SocketType, bind, socket_with, sockopt};
    let fd = socket_with(AddressFamily::INET, SocketType::DGRAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    bind(
        &fd,
        &SocketAddrV4::new(std::net::Ipv4Addr::new(127, 0, 0, 11), 53),
    )?;
    Ok(std::net::UdpSocket::from(fd))
}

/// The embedded DNS server of a container on user networks: listening on 127.0.0.11:53 inside its namespace,
/// forwarding from the host's. The shim is single-threaded, so it may step into the namespace and back.
fn dns_server(d: &super::DnsLaunch) -> std::io::Result<berth_network::dns::Server> {
    let inside = berth_network::netns::enter_current_thread(&d.netns).map_err(std::io::Error::other)?;
    let listen = dns_listener();
    inside.leave().map_err(std::io::Error::other)?;
    let upstream = std::net::UdpSocket::bind("[::]:0").or_else(|_| std::net::UdpSocket::bind("0.0.0.0:0"))?;
    Ok(berth_network::dns::Server::new(
        listen?,
        upstream,
        d.tables.clone(),
        d.upstreams.clone(),
    ))
}

/// The container's exit code (128 + signal when killed) and whether the kernel's OOM killer struck its cgroup; the
/// cgroup (at `cgroup_path`) is removed. The process is left unreaped so its pid cannot be reused before the exit is recorded.
fn exit_status(pidfd: &OwnedFd, cgroup_path: Option<&Path>) -> (i32, bool) {
    let status = rustix::process::waitid(
        rustix::process::WaitId::PidFd(pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT,
    );
    let code = match status {
        Ok(Some(s)) => match (s.exit_status(), s.terminating_signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => 128 + sig,
            _ => 255,
        },
        _ => 255,
    };
    let mut oom_killed = false;
    if let Some(path) = cgroup_path
        && let Ok(h) = berth_runtime::cgroups::Hierarchy::detect()
        && let Ok(cg) = h.open(&path.to_string_lossy())
    {
        oom_killed = cg.oom_kill_count().is_ok_and(|n| n > 0);
        // No kill is needed first: the container's init exits only after every process of its pid namespace has.
        let _ = cg.destroy();
    }
    (code, oom_killed)
}
