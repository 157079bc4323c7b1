//! The firewall half of the bridge driver: per-network NAT, forwarding, isolation and published ports.
//!
//! Every network owns its rules outright, so networks (and parallel tests) never touch each other's state:
//! with nftables one `table inet berth-<bridge>`, with iptables the chains `BERTH-<bridge>-FWD` (filter),
//! `BERTH-<bridge>-PORTS` and `BERTH-<bridge>-POST` (nat) reached from the built-in chains by jump rules that
//! setup adds once and teardown removes. The semantics follow Docker's bridge driver:
//! - traffic from the subnet leaving through any other interface is masqueraded (unless the network is
//!   internal or masquerading is off);
//! - an internal network forwards nothing in or out, only bridge to bridge;
//! - traffic from this bridge to any other berth bridge (interface group [`BRIDGE_GROUP`]) is dropped, each
//!   network dropping its own outgoing direction so both directions are covered;
//! - forwarded traffic to and from the bridge is accepted: outgoing, replies, and connections to published
//!   ports; other new connections into the bridge are dropped;
//! - published ports are DNAT'ed for traffic arriving from outside and for traffic the host sends to its own
//!   addresses, loopback included (the bridge needs `route_localnet=1`, the rules masquerade 127.0.0.0/8
//!   going into the bridge), and hairpin traffic (a container reaching a published port through a host
//!   address) is masqueraded so replies come back through the host.
//!
//! [`detect`] picks the backend: `BERTH_FIREWALL=nftables|iptables` forces one, otherwise nftables when the
//! `nft` binary works and iptables' filter FORWARD policy is not DROP (an nft accept cannot overrule that
//! policy; the iptables backend's rules run ahead of it), else iptables.

mod detect;
mod exec;
mod iptables;
mod iptables_rules;
mod nft;
mod nft_rules;
#[cfg(test)]
mod testnet;
#[cfg(test)]
mod traffic_tests;

use std::net::Ipv4Addr;

pub use detect::{FIREWALL_ENV, by_name, detect};
pub use iptables::Iptables;
pub use nft::Nftables;

/// Interface group given to every berth bridge (by the netlink code); the isolation rules drop traffic from a
/// bridge to any other interface of this group. The value spells "bert" in ASCII.
pub const BRIDGE_GROUP: u32 = 0x6265_7274;

/// Longest owner id accepted (nftables keeps at most 128 bytes of rule comment).
const MAX_OWNER_LEN: usize = 128;

/// An error of the firewall backends.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid bridge name {0:?} for firewall rules")]
    InvalidBridge(String),
    #[error("invalid prefix length /{0} for firewall rules")]
    InvalidPrefix(u8),
    #[error("invalid firewall rule owner {0:?}")]
    InvalidOwner(String),
    #[error("failed to run {program}: {source}")]
    Spawn {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed: {message}")]
    Tool { program: &'static str, message: String },
    #[error("unexpected output from {program}: {message}")]
    Output { program: &'static str, message: String },
}

/// The result of firewall operations.
pub type Result<T> = std::result::Result<T, Error>;

/// What the firewall needs to know about one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The bridge interface name (at most 15 characters of `[A-Za-z0-9_.-]`).
    pub bridge: String,
    /// The network address of the IPv4 subnet.
    pub subnet: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix: u8,
    /// Internal network: nothing is forwarded in or out of the bridge, and ports are not published.
    pub internal: bool,
    /// Masquerade traffic of the subnet leaving the host (Docker's `enable_ip_masquerade`).
    pub masquerade: bool,
}

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// The protocol's name as both nft and iptables spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One published port: traffic to `host_ip:host_port` goes to `container_ip:container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMapping {
    pub proto: Proto,
    /// The host address the port is published on; `None` publishes it on every host address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// A firewall backend. All methods are safe to call concurrently from many threads.
pub trait Firewall: Send + Sync {
    /// The backend's name: "nftables" or "iptables".
    fn name(&self) -> &'static str;
    /// Installs (or re-installs) the network's NAT, forwarding and isolation rules, keeping its published
    /// ports. Idempotent.
    fn setup_network(&self, net: &NetworkRules) -> Result<()>;
    /// Removes every rule of the network, published ports included; Ok if there is none.
    fn teardown_network(&self, net: &NetworkRules) -> Result<()>;
    /// Publishes `ports` on behalf of `owner` (a container id). Ports of internal networks are not published.
    fn add_ports(&self, net: &NetworkRules, owner: &str, ports: &[PortMapping]) -> Result<()>;
    /// Removes every port `owner` published on the network; Ok if there is none.
    fn remove_ports(&self, net: &NetworkRules, owner: &str) -> Result<()>;
}

/// Checks the names that end up in rules: the bridge is a valid interface name made of characters that need no
/// quoting in nft or iptables syntax (and does not start with a dash, which iptables would read as an option),
/// and the prefix is a valid IPv4 prefix length.
fn check_network(net: &NetworkRules) -> Result<()> {
    let b = &net.bridge;
    if b.is_empty() || b.len() > 15 || b.starts_with('-') || !b.bytes().all(is_name_byte) {
        return Err(Error::InvalidBridge(b.clone()));
    }
    if net.prefix > 32 {
        return Err(Error::InvalidPrefix(net.prefix));
    }
    Ok(())
}

/// Checks an owner id, which is stored as a rule comment and matched verbatim on removal.
fn check_owner(owner: &str) -> Result<()> {
    if owner.is_empty() || owner.len() > MAX_OWNER_LEN || !owner.bytes().all(is_name_byte) {
        return Err(Error::InvalidOwner(owner.to_string()));
    }
    Ok(())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(bridge: &str, prefix: u8) -> NetworkRules {
        NetworkRules {
            bridge: bridge.to_string(),
            subnet: Ipv4Addr::new(10, 232, 0, 0),
            prefix,
            internal: false,
            masquerade: true,
        }
    }

    #[test]
    fn network_names_are_checked() {
        assert!(check_network(&net("br-0123456789ab", 24)).is_ok());
        assert!(matches!(
            check_network(&net("", 24)),
            Err(Error::InvalidBridge(_))
        ));
        assert!(matches!(
            check_network(&net("br-0123456789abc", 24)),
            Err(Error::InvalidBridge(_))
        ));
        assert!(matches!(
            check_network(&net("br 0", 24)),
            Err(Error::InvalidBridge(_))
        ));
        assert!(matches!(
            check_network(&net("br\"0", 24)),
            Err(Error::InvalidBridge(_))
        ));
        assert!(matches!(
            check_network(&net("br0", 33)),
            Err(Error::InvalidPrefix(33))
        ));
    }

    #[test]
    fn owners_are_checked() {
        assert!(check_owner(&"a".repeat(64)).is_ok());
        assert!(check_owner("web_1.x-y").is_ok());
        assert!(matches!(check_owner(""), Err(Error::InvalidOwner(_))));
        assert!(matches!(check_owner("a b"), Err(Error::InvalidOwner(_))));
        assert!(matches!(check_owner("a\"b"), Err(Error::InvalidOwner(_))));
        assert!(matches!(
            check_owner(&"a".repeat(129)),
            Err(Error::InvalidOwner(_))
        ));
    }
}
