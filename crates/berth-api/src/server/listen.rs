//! Daemon addresses (`-H`): `unix:///path` and `tcp://host:port`, parsed, checked and bound. A unix socket left by
//! a dead daemon is replaced; one a live daemon answers on is refused. Sockets are mode 0660 with group `berth`
//! when that group exists, else 0600 (root only).

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The default daemon address.
pub const DEFAULT_SOCKET: &str = "/run/berth/berth.sock";

/// A parsed `-H` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
            Address::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// Parses `unix:///path`, a bare `/path`, or `tcp://host:port` (host an IP address or `localhost`).
pub fn parse(addr: &str) -> Result<Address> {
    let bad = |why: &str| Error::bad_request(format!("invalid address {addr:?}: {why}"));
    if let Some(path) = addr.strip_prefix("unix://") {
        if path.is_empty() {
            return Ok(Address::Unix(DEFAULT_SOCKET.into()));
        }
        if !path.starts_with('/') {
            return Err(bad("unix socket paths must be absolute"));
        }
        return Ok(Address::Unix(path.into()));
    }
    if addr.starts_with('/') {
        return Ok(Address::Unix(addr.into()));
    }
    if let Some(hostport) = addr.strip_prefix("tcp://") {
        let hostport = hostport.trim_end_matches('/');
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| bad("a port is required"))?;
        let port: u16 = port.parse().map_err(|_| bad("invalid port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = match host {
            "localhost" | "" => IpAddr::from([127, 0, 0, 1]),
            h => h
                .parse()
                .map_err(|_| bad("the host must be an IP address or localhost"))?,
        };
        return Ok(Address::Tcp(SocketAddr::new(ip, port)));
    }
    Err(bad("use unix:///path or tcp://host:port"))
}

/// A bound listener.
pub enum Listener {
    Unix(tokio::net::UnixListener, PathBuf),
    /// With the TLS acceptor its connections go through, if any.
    Tcp(tokio::net::TcpListener, Option<tokio_rustls::TlsAcceptor>),
}

/// The group id of `berth`, if that group exists.
fn berth_gid() -> Option<u32> {
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some("berth"))
            .then(|| f.nth(1).and_then(|g| g.parse().ok()))
            .flatten()
    })
}

/// Binds `addr` (call inside the runtime). TCP on a non-loopback address needs TLS with client verification:
/// anyone who reaches the API owns the host.
pub fn bind(addr: &Address, tls: Option<&super::tls::TlsOptions>) -> Result<Listener> {
    match addr {
        Address::Tcp(sa) => {
            if !sa.ip().is_loopback() && !tls.is_some_and(|t| t.verify) {
                return Err(Error::bad_request(format!(
                    "refusing to serve the API on non-loopback address tcp://{sa} without TLS client verification: add --tlsverify --tlscacert --tlscert --tlskey, or use a unix socket or a loopback address"
                )));
            }
            let acceptor = tls.map(super::tls::acceptor).transpose()?;
            let std = std::net::TcpListener::bind(sa)
                .map_err(|e| Error::internal(format!("listen on tcp://{sa}: {e}")))?;
            std.set_nonblocking(true)
                .map_err(|e| Error::internal(e.to_string()))?;
            let l = tokio::net::TcpListener::from_std(std).map_err(|e| Error::internal(e.to_string()))?;
            Ok(Listener::Tcp(l, acceptor))
        }
        Address::Unix(path) => bind_unix(path),
    }
}

fn bind_unix(path: &Path) -> Result<Listener> {
    let fail = |what: &str, e: std::io::Error| Error::internal(format!("{what} {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail("create directory for", e))?;
    }
    if path.exists() {
        if berth_engine::attach::connect(path).is_ok() {
            return Err(Error::conflict(format!(
                "a daemon is already serving on unix://{}",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(|e| fail("remove stale socket", e))?;
    }
    let std = berth_engine::attach::listen(path).map_err(|e| fail("listen on", e))?;
    let gid = berth_gid();
    let mode = if gid.is_some() { 0o660 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| fail("chmod", e))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| fail("chown", e))?;
    }
    std.set_nonblocking(true).map_err(|e| fail("listen on", e))?;
    let l = tokio::net::UnixListener::from_std(std).map_err(|e| fail("listen on", e))?;
    Ok(Listener::Unix(l, path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse("unix:///tmp/x.sock").unwrap(),
            Address::Unix("/tmp/x.sock".into())
        );
        assert_eq!(parse("unix://").unwrap(), Address::Unix(DEFAULT_SOCKET.into()));
        assert_eq!(parse("/tmp/y.sock").unwrap(), Address::Unix("/tmp/y.sock".into()));
        assert_eq!(
            parse("tcp://127.0.0.1:2375").unwrap(),
            Address::Tcp("127.0.0.1:2375".parse().unwrap())
        );
        assert_eq!(
            parse("tcp://localhost:1").unwrap(),
            Address::Tcp("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(
            parse("tcp://[::1]:5").unwrap(),
            Address::Tcp("[::1]:5".parse().unwrap())
        );
        assert!(parse("tcp://127.0.0.1").is_err());
        assert!(parse("unix://relative").is_err());
        assert!(parse("ssh://host").is_err());
        assert!(parse("tcp://example.com:80").is_err());
    }

    #[tokio::test]
    async fn non_loopback_tcp_is_refused() {
        let e = bind(&Address::Tcp("0.0.0.0:0".parse().unwrap()), None)
            .err()
            .unwrap();
        assert!(e.message.contains("TLS"), "{}", e.message);
        assert!(bind(&Address::Tcp("127.0.0.1:0".parse().unwrap()), None).is_ok());
    }

    #[tokio::test]
    async fn stale_sockets_are_replaced_and_live_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let live = bind(&Address::Unix(path.clone()), None).unwrap();
        let e = bind(&Address::Unix(path.clone()), None).err().unwrap();
        assert_eq!(e.status, 409);
        drop(live);
    }
}
