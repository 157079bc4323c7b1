//! `berth daemon`: one per data root (an exclusive lock), serving the API on every `-H` address until SIGTERM or
//! SIGINT, then finishing in-flight requests and exiting — containers keep running under their shims. On start it
//! adopts what is on disk: running containers get exit monitors, ones that exited meanwhile show their recorded exit.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::{Engine, EngineOptions};
use hyper_util::rt::TokioIo;
use rustix::fs::{FlockOperation, flock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::listen::{self, Address, Listener};
use super::{Api, Daemon, Shared, monitor};
use crate::error::{Error, Result};

/// How long in-flight requests may take to finish after a stop signal (streams such as `events` never finish).
const DRAIN: Duration = Duration::from_secs(5);

/// How often freed heap memory is handed back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// The daemon's settings.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub engine: EngineOptions,
    /// `-H` addresses; empty means the default socket, `<exec-root>/berth.sock`.
    pub hosts: Vec<String>,
    pub pidfile: Option<PathBuf>,
    /// TLS for the TCP listeners.
    pub tls: Option<super::tls::TlsOptions>,
}

/// The default socket of an exec root (`/run/berth/berth.sock` for the default one).
pub fn default_socket(exec_root: &std::path::Path) -> PathBuf {
    exec_root.join("berth.sock")
}

/// Takes the data root's daemon lock, or says who holds it.
fn lock_data_root(data_root: &std::path::Path) -> Result<File> {
    std::fs::create_dir_all(data_root)
        .map_err(|e| Error::internal(format!("create {}: {e}", data_root.display())))?;
    let path = data_root.join("daemon.lock");
    let mut f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::internal(format!("open {}: {e}", path.display())))?;
    if flock(f.as_fd(), FlockOperation::NonBlockingLockExclusive).is_err() {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        return Err(Error::conflict(format!(
            "another berth daemon (pid {}) is using data root {}",
            holder.trim(),
            data_root.display()
        )));
    }
    let _ = f.set_len(0);
    let _ = write!(f, "{}", std::process::id());
    Ok(f)
}

/// Runs the daemon until it is told to stop.
pub fn run(opts: DaemonOptions) -> Result<()> {
    let addresses: Vec<Address> = if opts.hosts.is_empty() {
        vec![Address::Unix(default_socket(&opts.engine.paths.exec_root))]
    } else {
        opts.hosts
            .iter()
            .map(|h| listen::parse(h))
            .collect::<Result<_>>()?
    };
    let _lock = lock_data_root(&opts.engine.paths.data_root)?;
    let engine = Engine::open(opts.engine.clone())?;
    // glibc gives each thread that allocates an arena of its own and keeps what they grew: the blocking pool's
    // threads would leave the idle daemon several megabytes heavier after a burst. Two arenas and a periodic trim
    // keep it small (measured: 19.9 MiB idle after a burst with the defaults).
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berth-daemon")
        .thread_keep_alive(Duration::from_secs(2))
        .build()
        .map_err(|e| Error::internal(format!("start runtime: {e}")))?;
    let result = runtime.block_on(async {
        let listeners = addresses
            .iter()
            .map(|a| listen::bind(a, opts.tls.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        if let Some(p) = &opts.pidfile {
            std::fs::write(p, format!("{}\n", std::process::id()))
                .map_err(|e| Error::internal(format!("write pidfile {}: {e}", p.display())))?;
        }
        let daemon = Arc::new(Daemon::new(engine));
        adopt(&daemon).await;
        tokio::spawn(release_when_idle(daemon.clone()));
        for a in &addresses {
            tracing::info!(address = %a, "API listening");
        }
        serve(daemon, listeners).await;
        Ok(())
    });
    for a in &addresses {
        if let Address::Unix(p) = a {
            let _ = std::fs::remove_file(p);
        }
    }
    if let Some(p) = &opts.pidfile {
        let _ = std::fs::remove_file(p);
    }
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Gives memory back once requests stop: a burst of work leaves freed heap and the pages of all the code it ran
/// (shared with the binary's page cache, but counted in the daemon's RSS); an idle daemon needs neither. Released once
/// per quiet spell (no request for a whole interval after some), so a busy daemon never pays for it.
async fn release_when_idle(d: Shared) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    let (mut seen, mut released) = (0u64, 0u64);
    loop {
        tick.tick().await;
        let now = d.requests.load(std::sync::atomic::Ordering::Relaxed);
        if now == seen && now != released {
            released = now;
            let _ = tokio::task::spawn_blocking(berth_engine::shim::trim::release_idle_memory).await;
        }
        seen = now;
    }
}

/// Picks up the containers on disk: monitors for the running ones (reconciling records whose shim is gone), and
/// network state made consistent with them.
async fn adopt(d: &Shared) {
    let handle = tokio::runtime::Handle::current();
    let d2 = d.clone();
    let adopted = super::blocking(d, move |d| {
        let running: Vec<_> = d.engine.list(false)?;
        for c in &running {
            monitor::ensure(&d2, &handle, c);
        }
        if let Err(e) = d.engine.network_restore() {
            tracing::warn!(error = %e, "restoring networks failed");
        }
        Ok(running.len())
    })
    .await;
    match adopted {
        Ok(n) => tracing::info!(running = n, "containers adopted"),
        Err(e) => tracing::warn!(error = %e, "adopting containers failed"),
    }
}

/// Accepts on every listener until SIGTERM/SIGINT, then drains.
async fn serve(daemon: Shared, listeners: Vec<Listener>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; the channel closes when the last one ends.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let service = Api::new(daemon);
    let mut accepters = Vec::new();
    for listener in listeners {
        let (service, stop_rx, alive_tx) = (service.clone(), stop_rx.clone(), alive_tx.clone());
        accepters.push(tokio::spawn(async move {
            let mut stop = stop_rx.clone();
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    conn = accept(&listener) => match conn {
                        Ok((io, tls)) => {
                            let (service, stop_rx, alive) = (service.clone(), stop_rx.clone(), alive_tx.clone());
                            tokio::spawn(async move {
                                let io: Io = match tls {
                                    None => io,
                                    Some(acceptor) => match acceptor.accept(io).await {
                                        Ok(tls) => Box::new(tls),
                                        Err(e) => {
                                            tracing::debug!(error = %e, "TLS handshake failed");
                                            return;
                                        }
                                    },
                                };
                                serve_connection(io, service, stop_rx).await;
                                drop(alive);
                            });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        }));
    }
    drop(alive_tx);
    wait_for_stop_signal().await;
    tracing::info!("stopping: no new connections; finishing requests in flight");
    let _ = stop_tx.send(true);
    for a in accepters {
        let _ = a.await;
    }
    if tokio::time::timeout(DRAIN, alive_rx.recv()).await.is_err() {
        tracing::info!("requests still open after the grace period are dropped");
    }
}

async fn wait_for_stop_signal() {
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// A connection of either kind.
pub(crate) type Io = Box<dyn Connection>;
pub(crate) trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// Accepts a connection, with the TLS acceptor it must pass first (the handshake runs in the connection's own task,
/// so a slow client cannot hold up the listener).
async fn accept(listener: &Listener) -> std::io::Result<(Io, Option<tokio_rustls::TlsAcceptor>)> {
    Ok(match listener {
        Listener::Unix(l, _) => (Box::new(l.accept().await?.0), None),
        Listener::Tcp(l, tls) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            (Box::new(s), tls.clone())
        }
    })
}

/// Serves one connection until it ends.
pub(crate) async fn serve_one(io: Io, api: Api) {
    let _ = connection(io, api).await;
}

/// The API as a hyper service.
#[derive(Clone)]
struct HyperService(Api);

type Answer = std::pin::Pin<
    Box<dyn Future<Output = std::result::Result<axum::response::Response, std::convert::Infallible>> + Send>,
>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for HyperService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = Answer;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Answer {
        let api = self.0.clone();
        Box::pin(async move { Ok(api.handle(req.map(axum::body::Body::new)).await) })
    }
}

fn connection(
    io: Io,
    api: Api,
) -> hyper::server::conn::http1::UpgradeableConnection<TokioIo<Io>, HyperService> {
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), HyperService(api))
        .with_upgrades()
}

async fn serve_connection(io: Io, api: Api, mut stop: watch::Receiver<bool>) {
    let conn = connection(io, api);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
