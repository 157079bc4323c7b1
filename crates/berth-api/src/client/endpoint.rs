//! Where a client's connections go: a daemon's unix socket or loopback TCP address, or an API server running in
//! this very process over the engine (daemonless mode), reached through socket pairs so that both look the same to
//! the client — including hijacked attach and exec streams.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use berth_engine::Engine;
use rustls::pki_types::ServerName;

use crate::error::{Error, Result};
use crate::server::{Api, Daemon};

/// A connection as the client uses it.
pub enum Conn {
    Unix(UnixStream),
    Tcp(std::net::TcpStream),
}

/// An API server in this process.
pub struct InProcess {
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    api: Api,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // The command is over: its tasks (exit monitors and the like) need no orderly end, so do not wait for them.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Where to connect.
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
    /// TCP with TLS: the daemon's address, the name its certificate must carry, the client's settings.
    Tls(
        std::net::SocketAddr,
        ServerName<'static>,
        Arc<rustls::ClientConfig>,
    ),
    InProcess(Box<InProcess>),
}

impl Endpoint {
    /// Serves the API over `engine` inside this process.
    pub fn in_process(engine: Engine) -> Result<Endpoint> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("start runtime: {e}")))?;
        Ok(Endpoint::InProcess(Box::new(InProcess {
            runtime: Some(runtime),
            api: Api::new(Arc::new(Daemon::new(engine))),
        })))
    }

    /// A description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix://{}", p.display()),
            Endpoint::Tcp(a) | Endpoint::Tls(a, ..) => format!("tcp://{a}"),
            Endpoint::InProcess(_) => "the in-process engine".into(),
        }
    }

    /// Opens a connection.
    pub fn connect(&self) -> std::io::Result<Conn> {
        match self {
            Endpoint::Unix(p) => berth_engine::attach::connect(p).map(Conn::Unix),
            Endpoint::Tcp(a) | Endpoint::Tls(a, ..) => {
                let s = std::net::TcpStream::connect(a)?;
                let _ = s.set_nodelay(true);
                Ok(Conn::Tcp(s))
            }
            Endpoint::InProcess(ip) => {
                let runtime = ip
                    .runtime
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("the in-process server has stopped"))?;
                let (ours, theirs) = UnixStream::pair()?;
                theirs.set_nonblocking(true)?;
                let _guard = runtime.enter();
                let theirs = tokio::net::UnixStream::from_std(theirs)?;
                runtime.spawn(crate::server::daemon::serve_one(Box::new(theirs), ip.api.clone()));
                Ok(Conn::Unix(ours))
            }
        }
    }
}
