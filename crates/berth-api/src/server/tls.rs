//! TLS for the daemon's TCP listeners (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey`, as dockerd):
//! the server's certificate and key, and with `--tlsverify` client certificates checked against the given CA.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// The daemon's TLS settings.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Require and verify client certificates (signed by `ca`).
    pub verify: bool,
    pub ca: Option<PathBuf>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn bad(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("could not load {what} {}: {e}", path.display()))
}

/// Builds the acceptor for these settings.
pub fn acceptor(opts: &TlsOptions) -> Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_file_iter(&opts.cert)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| bad("TLS certificate", &opts.cert, e))?;
    let key = PrivateKeyDer::from_pem_file(&opts.key).map_err(|e| bad("TLS key", &opts.key, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?;
    let builder = if opts.verify {
        let ca_path = opts
            .ca
            .as_ref()
            .ok_or_else(|| Error::bad_request("--tlsverify needs --tlscacert"))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_path).map_err(|e| bad("TLS CA", ca_path, e))? {
            roots
                .add(cert.map_err(|e| bad("TLS CA", ca_path, e))?)
                .map_err(|e| bad("TLS CA", ca_path, e))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| bad("TLS CA", ca_path, e))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| bad("TLS certificate", &opts.cert, e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
