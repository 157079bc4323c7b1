//! `berth daemon`: serve the Docker Engine API on the `-H` addresses (default `<exec-root>/berth.sock`).

use berth_api::server::daemon::{self, DaemonOptions};
use berth_api::server::tls::TlsOptions;
use berth_engine::EngineOptions;
use clap::Args;

use crate::cli::GlobalOpts;
use crate::error::{CmdResult, Failure};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Path to use for the daemon PID file
    #[arg(short, long)]
    pub pidfile: Option<String>,
    /// Enable debug mode (log every request)
    #[arg(short = 'D', long)]
    pub debug: bool,
}

/// The TLS settings the flags give, if any.
fn tls_options(a: &GlobalOpts) -> Result<Option<TlsOptions>, Failure> {
    if !a.tls && !a.tlsverify {
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&a.tlscert, &a.tlskey) else {
        return Err(Failure::engine(
            "--tls and --tlsverify need --tlscert and --tlskey",
        ));
    };
    Ok(Some(TlsOptions {
        verify: a.tlsverify,
        ca: a.tlscacert.as_ref().map(Into::into),
        cert: cert.into(),
        key: key.into(),
    }))
}

/// Serves the API; the global `-H` and TLS flags say where and how.
pub fn run(engine: EngineOptions, g: &GlobalOpts, a: DaemonArgs) -> CmdResult {
    let level = if a.debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("berth_api={level},berth={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let tls = tls_options(g)?;
    daemon::run(DaemonOptions {
        engine,
        hosts: g.host.clone(),
        pidfile: a.pidfile.map(Into::into),
        tls,
    })
    .map_err(|e| Failure::engine(e.message))?;
    Ok(0)
}
