//! Host ports published by containers: the requests (`-p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]`), the table of ports
//! given out, and the rules for giving one (a port is taken if another container publishes it on an overlapping
//! address, or a host process has it bound).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use std::fs;

use super::{NetworkStore, StoreError, StoreResult, io};

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

impl std::str::FromStr for Proto {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Proto> {
        match s {
            "" | "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            other => Err(StoreError::Invalid(format!("invalid proto: {other}"))),
        }
    }
}

/// One port a container asks to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRequest {
    pub proto: Proto,
    pub container_port: u16,
    /// The host address to listen on; `None` for all of them.
    pub host_ip: Option<Ipv4Addr>,
    /// The host port; `None` to pick a free one.
    pub host_port: Option<u16>,
}

/// A host port given to a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub proto: Proto,
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub owner: String,
}

impl Published {
    fn clashes(&self, proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
        self.proto == proto
            && self.host_port == port
            && (self.host_ip.is_none() || ip.is_none() || self.host_ip == ip)
    }
}

/// Whether a host process has `port` bound on `ip` (probed by binding it for an instant).
fn bound_by_host(proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    match proto {
        Proto::Tcp => TcpListener::bind(addr).is_err(),
        Proto::Udp => UdpSocket::bind(addr).is_err(),
    }
}

/// The kernel's ephemeral port range, where random host ports come from (as in Docker).
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|v| v.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .filter(|(lo, hi)| lo <= hi)
        .unwrap_or((32768, 60999))
}

/// Gives `owner` a host port for each request, adding them to `table`.
pub(super) fn assign(
    table: &mut Vec<Published>,
    owner: &str,
    requests: &[PortRequest],
) -> StoreResult<Vec<Published>> {
    let mut given = Vec::new();
    for req in requests {
        let taken = |table: &[Published], port: u16| {
            table.iter().any(|p| p.clashes(req.proto, req.host_ip, port))
                || bound_by_host(req.proto, req.host_ip, port)
        };
        let port = match req.host_port {
            Some(port) => {
                if taken(table, port) {
                    let ip = req.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    return Err(StoreError::PortTaken(format!(
                        "Bind for {ip}:{port} failed: port is already allocated"
                    )));
                }
                port
            }
            None => {
                let (lo, hi) = ephemeral_range();
                let span = u32::from(hi - lo) + 1;
                let start = rand::random::<u32>() % span;
                (0..span)
                    .map(|i| lo + ((start + i) % span) as u16)
                    .find(|p| !taken(table, *p))
                    .ok_or_else(|| StoreError::PortTaken("no free host port in the ephemeral range".into()))?
            }
        };
        let p = Published {
            proto: req.proto,
            host_ip: req.host_ip,
            host_port: port,
            container_port: req.container_port,
            owner: owner.to_string(),
        };
        table.push(p.clone());
        given.push(p);
    }
    Ok(given)
}

impl From<Proto> for crate::firewall::Proto {
    fn from(p: Proto) -> Self {
        match p {
            Proto::Tcp => crate::firewall::Proto::Tcp,
            Proto::Udp => crate::firewall::Proto::Udp,
        }
    }
}

impl NetworkStore {
    /// Reserves host ports for `owner`'s published ports: a fixed host port must be free (not published by another
    /// container nor bound by a host process), a missing one is picked from the ephemeral range.
    pub fn publish(&self, owner: &str, requests: &[PortRequest]) -> StoreResult<Vec<Published>> {
        let _lock = self.lock()?;
        let path = self.dir.join("ports.json");
        let mut table: Vec<Published> = match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                path: path.display().to_string(),
                msg: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return io(|| format!("read {}", path.display()), Err(e)),
        };
        table.retain(|p| p.owner != owner);
        let given = assign(&mut table, owner, requests)?;
        Self::write_json(&path, &table, false)?;
        Ok(given)
    }

    /// The owners of published host ports.
    pub fn publishers(&self) -> StoreResult<Vec<String>> {
        let path = self.dir.join("ports.json");
        let table: Vec<Published> = match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut owners: Vec<String> = table.into_iter().map(|p| p.owner).collect();
        owners.sort();
        owners.dedup();
        Ok(owners)
    }

    /// Frees `owner`'s host ports.
    pub fn unpublish(&self, owner: &str) -> StoreResult<()> {
        self.unpublish_where(&|o| o == owner)
    }

    /// Frees the host ports of every owner `stale` accepts.
    pub fn unpublish_where(&self, stale: &dyn Fn(&str) -> bool) -> StoreResult<()> {
        let _lock = self.lock()?;
        let path = self.dir.join("ports.json");
        let Ok(bytes) = fs::read(&path) else {
            return Ok(());
        };
        let mut table: Vec<Published> = serde_json::from_slice(&bytes).unwrap_or_default();
        let before = table.len();
        table.retain(|p| !stale(&p.owner));
        if table.len() != before {
            Self::write_json(&path, &table, false)?;
        }
        Ok(())
    }
}
