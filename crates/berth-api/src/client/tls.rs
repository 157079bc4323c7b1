//! TLS for TCP endpoints, as the docker CLI does it: `--tlsverify` checks the daemon's certificate against
//! `--tlscacert`, plain `--tls` encrypts without checking it, and a client certificate (`--tlscert`, `--tlskey`) is
//! presented when given. A hijacked connection (attach, exec) is handed to the terminal relay as a plain descriptor:
//! one end of a socket pair whose other end a thread pumps through the TLS session.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use rustix::event::{PollFd, PollFlags, poll};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};

/// The client's TLS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsClientOptions {
    /// Check the daemon's certificate against `ca`.
    pub verify: bool,
    pub ca: Option<PathBuf>,
    /// A client certificate and its key, presented when both are given.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

fn bad(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("could not load {what} {}: {e}", path.display()))
}

/// Accepts any server certificate (`--tls` without `--tlsverify`), still checking the handshake's signatures.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration these settings give.
pub fn client_config(opts: &TlsClientOptions) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?;
    let builder = if opts.verify {
        let ca = opts
            .ca
            .as_ref()
            .ok_or_else(|| Error::bad_request("--tlsverify needs --tlscacert"))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad("TLS CA", ca, e))? {
            roots
                .add(cert.map_err(|e| bad("TLS CA", ca, e))?)
                .map_err(|e| bad("TLS CA", ca, e))?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
    };
    let config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| bad("TLS certificate", cert, e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("TLS key", key, e))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| bad("TLS certificate", cert, e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name the daemon's certificate must carry: the host of `-H tcp://HOST:PORT`.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|e| Error::bad_request(format!("invalid TLS server name {host}: {e}")))
}

/// Hands a hijacked TLS connection over as a plain descriptor: a thread pumps plaintext between the returned end of
/// a socket pair and the TLS session until both directions are closed. A half-close of the returned end becomes
/// the TLS close_notify (the daemon sees the end of stdin), and the daemon's close a half-close of it.
pub(crate) fn relay_fd(tcp: TcpStream, session: ClientConnection) -> io::Result<OwnedFd> {
    let (ours, theirs) = UnixStream::pair()?;
    tcp.set_nonblocking(false)?;
    std::thread::Builder::new()
        .name("berth-tls-relay".into())
        .spawn(move || {
            let _ = pump(tcp, session, theirs);
        })?;
    Ok(ours.into())
}

fn pump(mut tcp: TcpStream, mut tls: ClientConnection, mut local: UnixStream) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    // Plaintext the session already decrypted before the handover.
    loop {
        match tls.reader().read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => local.write_all(&buf[..n])?,
            Err(_) => break,
        }
    }
    let (mut local_open, mut remote_open) = (true, true);
    while local_open || remote_open {
        while tls.wants_write() {
            tls.write_tls(&mut tcp)?;
        }
        let mut fds = Vec::with_capacity(2);
        if remote_open {
            fds.push(PollFd::new(&tcp, PollFlags::IN));
        }
        if local_open {
            fds.push(PollFd::new(&local, PollFlags::IN));
        }
        poll(&mut fds, None)?;
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let (tcp_ready, local_ready) = match (remote_open, local_open) {
            (true, true) => (ready[0], ready[1]),
            (true, false) => (ready[0], false),
            _ => (false, ready[0]),
        };
        if tcp_ready {
            if tls.read_tls(&mut tcp)? == 0 {
                remote_open = false;
            }
            tls.process_new_packets().map_err(io::Error::other)?;
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) => {
                        remote_open = false;
                        break;
                    }
                    Ok(n) => local.write_all(&buf[..n])?,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if !remote_open {
                let _ = local.shutdown(std::net::Shutdown::Write);
                if !local_open {
                    break;
                }
            }
        }
        if local_ready {
            match local.read(&mut buf)? {
                0 => {
                    local_open = false;
                    tls.send_close_notify();
                }
                n => tls.writer().write_all(&buf[..n])?,
            }
        }
    }
    while tls.wants_write() {
        tls.write_tls(&mut tcp)?;
    }
    Ok(())
}
