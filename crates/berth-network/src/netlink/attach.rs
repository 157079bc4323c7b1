//! The one-call container attachment of the container start path: a veth pair between a bridge and a container's
//! network namespace, with the container end addressed and routed.
//!
//! Work done: a thread enters the namespace and opens a netlink socket there while the calling thread looks the
//! bridge up and creates the veth pair (one request: host end enslaved and up, peer named, given its MAC and created
//! inside the namespace); then, on the namespace's socket, one lookup of the peer's index and one datagram that brings
//! it up and carries its address and default route.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::Path;
use std::thread;

use super::Netlink;
use super::address::add_request;
use super::link::up_request;
use super::route::default_route_request;
use crate::error::{Error, Result};
use crate::netns;

/// How a container joins one network.
#[derive(Debug, Clone, Copy)]
pub struct Attachment<'a> {
    /// The network's bridge on the host.
    pub bridge: &'a str,
    /// The host end of the veth pair (see [`super::veth_name`]).
    pub host_if: &'a str,
    /// The interface name inside the container, e.g. `eth0`.
    pub ns_if: &'a str,
    /// The container interface's MAC (see [`super::mac_from_ip`]).
    pub mac: [u8; 6],
    /// The container's address and the network's prefix length.
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// The default route's gateway; `None` for a network that must not carry the default route (a second network).
    pub gateway: Option<Ipv4Addr>,
    /// The MTU of both veth ends; `None` keeps the kernel's default.
    pub mtu: Option<u32>,
}

/// Connects the namespace at `netns_path` to the bridge as described by `attachment`. A link already called
/// `host_if` is taken for a leftover of an earlier run of the same container (host names come from
/// [`super::veth_name`]) and replaced. On failure nothing stays behind.
///
/// To detach, removing the namespace ([`netns::remove`]) is enough and cheapest: the kernel deletes the veth pair in
/// the background when the namespace ends, whereas deleting a veth synchronously takes tens of milliseconds.
pub fn attach_container(netns_path: &Path, attachment: &Attachment<'_>) -> Result<()> {
    let ns = netns::open(netns_path)?;
    thread::scope(|scope| {
        let inside = thread::Builder::new()
            .spawn_scoped(scope, || {
                netns::enter(ns.as_fd(), netns_path)?;
                Netlink::open()
            })
            .map_err(|e| Error::Io {
                ctx: "start network namespace thread".into(),
                source: e,
            })?;
        let mut host = Netlink::open()?;
        let bridge = host
            .link_index(attachment.bridge)?
            .ok_or_else(|| Error::LinkNotFound(attachment.bridge.into()))?;
        let a = attachment;
        let create =
            |host: &mut Netlink| host.create_veth(a.host_if, bridge, a.ns_if, ns.as_fd(), a.mac, a.mtu);
        match create(&mut host) {
            // A leftover host end (possibly being torn down by the kernel right now): replace it, once.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                host.delete_link(a.host_if)?;
                create(&mut host)?;
            }
            other => other?,
        }
        let configured = inside
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .and_then(|mut inside| configure_inside(&mut inside, attachment));
        if configured.is_err() {
            let _ = host.delete_link(attachment.host_if);
        }
        configured
    })
}

/// Brings the container end up, addresses it and adds its default route, in one datagram (handled in that order: the
/// subnet route appears once the link is up and addressed, and the gateway must be reachable through it).
fn configure_inside(inside: &mut Netlink, a: &Attachment<'_>) -> Result<()> {
    let index = inside
        .link_index(a.ns_if)?
        .ok_or_else(|| Error::LinkNotFound(a.ns_if.into()))?;
    let mut requests = vec![up_request(index), add_request(index, a.ip, a.prefix, a.ns_if)];
    requests.extend(
        a.gateway
            .map(|gateway| default_route_request(gateway, Some(index))),
    );
    inside.execute(requests)
}
