//! Berth's network driver: network namespaces, bridges and veth pairs over netlink, IP address management, NAT and
//! published ports through the kernel's firewall (nftables, iptables fallback), and the embedded DNS server of user
//! networks.
pub mod error;
mod fsutil;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod store;
pub mod subnet;
pub use error::{Error, Result};
pub mod dns;
pub mod firewall;
